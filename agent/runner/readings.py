"""The chain readings guards compare: the wallet, its Aave account, oracle prices, rates, blocks."""

from __future__ import annotations

from decimal import Decimal

from agent.errors import BadInput
from strategies.tokens import resolve_symbol
from tools.aave_v3.reads import account, health_factor, reserve, reserve_symbols, usd_price
from tools.chain.plain import rpc
from tools.erc20.reads import balance, token
from tools.protocol import ChainContext
from tools.tx import NATIVE

NO_DEBT = Decimal("Infinity")
"""The health factor of an account without debt: above any threshold a guard can name."""


class ChainReadings:
    """Reads each value when a guard asks for it, from the chain of ``ctx``."""

    def __init__(self, ctx: ChainContext) -> None:
        self.ctx = ctx

    def _symbol(self, word: str) -> str:
        symbol = resolve_symbol(word, self.ctx.book.symbols)
        if symbol is None:
            known = ", ".join(self.ctx.book.symbols)
            raise BadInput(f"unknown token {word!r} in a guard", hint=f"known: {known}")
        return symbol

    def read(self, name: str, args: tuple[str, ...]) -> Decimal:
        w3, book, wallet = self.ctx.w3, self.ctx.book, self.ctx.wallet
        if name == "block":
            return Decimal(int(rpc(w3, "eth_blockNumber"), 16))
        if name == "health_factor":
            hf = health_factor(w3, book, wallet)
            return NO_DEBT if hf is None else hf
        if name in ("apy", "borrow_apy"):
            protocol, word = args
            if protocol.lower() not in ("aave-v3", "aave"):
                raise BadInput(
                    f"no rates for protocol {protocol!r}", hint="rates come from aave-v3"
                )
            symbol = self._symbol(word)
            symbol = "WETH" if symbol == NATIVE else symbol
            if symbol not in reserve_symbols(book):
                raise BadInput(f"Aave V3 has no {symbol} market here")
            found = reserve(w3, book, symbol)
            return found.supply_apy if name == "apy" else found.borrow_apy
        symbol = self._symbol(args[0])
        tok = token(w3, book, symbol)
        if name == "price":
            return usd_price(w3, book, tok)
        if name == "balance":
            return tok.to_units(balance(w3, tok, wallet))
        aave_symbol = "WETH" if symbol == NATIVE else symbol
        position = next(
            (p for p in account(w3, book, wallet).positions if p.symbol == aave_symbol), None
        )
        if position is None:
            return Decimal(0)
        return position.supplied if name == "supplied" else position.borrowed
