"""A wallet's portfolio: token balances with USD values, Aave positions and health factor."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from tools.aave_v3.reads import Account, account, usd_prices
from tools.chain.addressbook import AddressBook
from tools.chain.plain import rpc
from tools.erc20.reads import balance, token
from tools.jsonable import plain

if TYPE_CHECKING:
    from tools.chain.plain import Node


@dataclass(frozen=True)
class Holding:
    symbol: str
    amount: Decimal
    usd: Decimal


@dataclass(frozen=True)
class Portfolio:
    wallet: str
    chain_id: int
    block: int
    holdings: tuple[Holding, ...]
    aave: Account
    prices: dict[str, Decimal]

    @property
    def wallet_usd(self) -> Decimal:
        return sum((h.usd for h in self.holdings), Decimal(0))

    @property
    def net_usd(self) -> Decimal:
        return self.wallet_usd + self.aave.collateral_usd - self.aave.debt_usd

    def to_json(self) -> dict[str, object]:
        body = asdict(self)
        body["wallet_usd"] = self.wallet_usd
        body["net_usd"] = self.net_usd
        return dict(plain(body))


def read_portfolio(w3: Node, book: AddressBook, wallet: str) -> Portfolio:
    prices = usd_prices(w3, book)
    holdings = []
    for symbol in book.symbols:
        tok = token(w3, book, symbol)
        amount = tok.to_units(balance(w3, tok, wallet))
        holdings.append(Holding(symbol, amount, amount * prices[symbol]))
    return Portfolio(
        wallet=wallet,
        chain_id=book.chain_id,
        block=int(rpc(w3, "eth_blockNumber"), 16),
        holdings=tuple(holdings),
        aave=account(w3, book, wallet),
        prices=prices,
    )
