"""Token metadata and balances, read on chain (decimals never come from a plan or an LLM)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import TYPE_CHECKING

from tools.chain.addressbook import AddressBook
from tools.chain.contracts import contract
from tools.chain.plain import rpc
from tools.tx import NATIVE

if TYPE_CHECKING:
    from tools.chain.plain import Node


_MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class Token:
    symbol: str
    address: str | None
    decimals: int

    def to_units(self, raw: int) -> Decimal:
        return Decimal(raw).scaleb(-self.decimals)

    def show(self, raw: int) -> str:
        """``raw`` base units as a plain decimal string: 2900000000 USDC -> "2900"."""
        return format(self.to_units(raw).normalize(), "f")

    def brief(self, raw: int, *, up: bool = False) -> str:
        """``raw`` in units to at most 6 decimals, rounded down (up with ``up``), with thousands
        separators: a bound as a person reads it, still true ("at least 297.598565 DAI" of
        297.598565884596261149; QA: every one of 18 decimals was shown)."""
        rounding = ROUND_UP if up else ROUND_DOWN
        return format(self.to_units(raw).quantize(_MICRO, rounding).normalize(), ",f")

    def to_raw(self, amount: Decimal) -> int:
        return int(amount.scaleb(self.decimals).to_integral_value(rounding="ROUND_DOWN"))

    def holds_exactly(self, amount: Decimal) -> bool:
        """Whether ``amount`` is a whole number of base units (no finer than the decimals)."""
        scaled = amount.scaleb(self.decimals)
        return scaled == scaled.to_integral_value()


_decimals: dict[tuple[int, str], int] = {}


def token(w3: Node, book: AddressBook, symbol: str) -> Token:
    """The token ``symbol`` of ``book``, with its decimals read on chain (once per chain)."""
    symbol = symbol.upper()
    if symbol == NATIVE:
        return Token(NATIVE, None, 18)
    address = book.token(symbol)
    key = (book.chain_id, address)
    if key not in _decimals:
        _decimals[key] = int(contract(w3, "erc20", address).functions.decimals().call())
    return Token(symbol, address, _decimals[key])


def balance(w3: Node, tok: Token, owner: str, block: str | int = "latest") -> int:
    """``owner``'s balance of ``tok`` now, or after block number ``block``."""
    if tok.address is None:
        at = hex(block) if isinstance(block, int) else block
        return int(rpc(w3, "eth_getBalance", owner, at), 16)
    return int(contract(w3, "erc20", tok.address).functions.balanceOf(owner).call(block))


def allowance(w3: Node, tok: Token, owner: str, spender: str) -> int:
    assert tok.address is not None
    return int(contract(w3, "erc20", tok.address).functions.allowance(owner, spender).call())
