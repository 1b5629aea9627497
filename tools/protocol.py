"""The one interface every protocol adapter implements: build the calls of an action.

Adapters never sign or send; they read the chain (quotes, allowances, positions) and return the
unsigned calls, in order, with what they expect the wallet to receive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

from tools.chain.addressbook import AddressBook
from tools.chain.plain import Node
from tools.tx import Call

if TYPE_CHECKING:
    from tools.actions import Action
    from tools.uniswap_v3.quote import Quote


@dataclass(frozen=True)
class ChainContext:
    """What an adapter may read: the chain, its address book, and whose wallet acts."""

    w3: Node
    """The node: the agent's `tools.chain.plain.Client` (a `Web3` works too, as in the tests)."""
    book: AddressBook
    wallet: str
    now: int = 0
    """Chain time: when the next block will be mined (`tools.chain.plain.clock`). Deadlines are
    counted from it, and the simulation runs at it."""


@dataclass(frozen=True)
class Built:
    """The calls of one action and, for swaps, the quote they were built from."""

    calls: tuple[Call, ...]
    quote: Quote | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


class ProtocolAdapter(Protocol):
    name: ClassVar[str]

    def handles(self, action: Action) -> bool: ...

    def build(self, ctx: ChainContext, action: Action) -> Built: ...
