"""The transaction types every layer shares: adapters build `Call`s, the decoder turns them into
`DecodedCall`s (what the policy engine judges), the simulator reports `SimulatedCall`s.

Amounts are integers in base units; addresses are checksummed strings; ETH is the native token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import NamedTuple

NATIVE = "ETH"


@dataclass(frozen=True, slots=True)
class Call:
    """An unsigned transaction from the wallet, as a protocol adapter built it."""

    to: str
    data: bytes
    value: int = 0
    label: str = ""

    @property
    def selector(self) -> bytes:
        return self.data[:4]


class TokenAmount(NamedTuple):
    """An amount of one token: ``token`` is the ERC-20 address, or ``NATIVE`` for ETH."""

    token: str
    symbol: str
    amount: int


class DecodedCall(NamedTuple):
    """What a call does, decoded from its calldata against the address book's ABIs.

    ``action`` is a plan action (swap, supply, ...), ``approve``, ``transferFrom``, ``multicall``,
    or ``unknown`` for anything the decoder does not recognise (the policy engine denies it).
    ``spends`` is what leaves the wallet through the call (native value, transfers, what a
    protocol pulls); ``approval`` what it lets ``spender`` take. ``recipients`` are the addresses the
    call names as receiving its output or position. ``inner`` holds the calls a multicall wraps.
    ``tokens`` are the tokens the call touches, by symbol (by address for a token the address book
    does not know): the contract it calls when that is a token, what it spends or approves, the
    asset of a lending call, both sides of a swap, and everything its inner calls touch.

    A named tuple, like `TokenAmount`: the policy engine builds several for every call it decides
    on, and one is built three times faster than a frozen dataclass.
    """

    call: Call
    contract: str
    protocol: str | None
    function: str
    action: str
    args: Mapping[str, object] = MappingProxyType({})
    spends: tuple[TokenAmount, ...] = ()
    approval: TokenAmount | None = None
    spender: str | None = None
    recipients: tuple[str, ...] = ()
    inner: tuple[DecodedCall, ...] = ()
    tokens: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SimulatedCall:
    """The outcome of one call on a throwaway copy of the chain."""

    call: Call
    success: bool
    gas_used: int
    fee_wei: int
    balance_deltas: Mapping[str, int] = field(default_factory=dict)
    revert_reason: str | None = None
    health_factor_after: Decimal | None = None
