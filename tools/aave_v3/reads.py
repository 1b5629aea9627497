"""Reads of Aave V3: reserve rates and utilisation, a user's positions and health factor, prices.

APYs compound Aave's per-second rates (RAY) over a year, as Aave's own interface does.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from tools.chain.addressbook import AaveV3Book, AddressBook
from tools.chain.contracts import contract
from tools.erc20.reads import Token, token
from tools.tx import NATIVE

if TYPE_CHECKING:
    from tools.chain.plain import Node

RAY = Decimal(10) ** 27
SECONDS_PER_YEAR = 31_536_000
NO_DEBT_HEALTH_FACTOR = 2**256 - 1


def apy(rate_ray: int) -> Decimal:
    """Annual yield of a per-second-compounded rate given as an APR in RAY."""
    per_second = Decimal(rate_ray) / RAY / SECONDS_PER_YEAR
    return (1 + per_second) ** SECONDS_PER_YEAR - 1


@dataclass(frozen=True)
class Reserve:
    symbol: str
    supply_apy: Decimal
    borrow_apy: Decimal
    utilisation: Decimal
    total_supplied: Decimal
    total_borrowed: Decimal
    liquidation_threshold: Decimal = Decimal(0)
    """The share of this collateral's value a debt may reach before liquidation (0.83 for 83%)."""


@dataclass(frozen=True)
class Position:
    symbol: str
    supplied: Decimal
    borrowed: Decimal
    supplied_raw: int
    borrowed_raw: int
    collateral: bool


@dataclass(frozen=True)
class Account:
    positions: tuple[Position, ...]
    collateral_usd: Decimal
    debt_usd: Decimal
    available_borrow_usd: Decimal
    health_factor: Decimal | None
    """None when there is no debt (Aave reports the maximum uint256)."""
    liquidation_threshold: Decimal = Decimal(0)
    """The collateral's weighted liquidation threshold, as a fraction (0.83 for 83%)."""


def reserve_symbols(book: AddressBook) -> tuple[str, ...]:
    return tuple(s for s in book.tokens)


def reserve(w3: Node, book: AddressBook, symbol: str) -> Reserve:
    tok = token(w3, book, _underlying(symbol))
    assert tok.address is not None
    data = contract(w3, "aave_data_provider", book.aave_v3.data_provider)
    (_, _, total_a, total_stable, total_variable, liquidity_rate, variable_rate, *_rest) = (
        data.functions.getReserveData(tok.address).call()
    )
    borrowed = total_stable + total_variable
    threshold = data.functions.getReserveConfigurationData(tok.address).call()[2]
    a_token = data.functions.getReserveTokensAddresses(tok.address).call()[0]
    cash = contract(w3, "erc20", tok.address).functions.balanceOf(a_token).call()
    return Reserve(
        symbol=tok.symbol,
        supply_apy=apy(liquidity_rate),
        borrow_apy=apy(variable_rate),
        utilisation=_utilisation(borrowed, cash),
        total_supplied=tok.to_units(total_a),
        total_borrowed=tok.to_units(borrowed),
        liquidation_threshold=Decimal(threshold).scaleb(-4),
    )


def _utilisation(borrowed: int, cash: int) -> Decimal:
    """The debt over all the reserve's liquidity, the cash its aToken holds and the debt, as
    Aave's rate strategy computes it: at most 1. Not the debt over the aTokens' total supply,
    which passes 1 when debt compounds for long with nobody touching the reserve (QA: 405% after
    a century's warp), as the supply index grows only linearly between updates."""
    total = borrowed + cash
    return Decimal(borrowed) / Decimal(total) if total else Decimal(0)


def reserves(w3: Node, book: AddressBook) -> tuple[Reserve, ...]:
    return tuple(reserve(w3, book, s) for s in reserve_symbols(book))


def account(w3: Node, book: AddressBook, user: str) -> Account:
    data = contract(w3, "aave_data_provider", book.aave_v3.data_provider)
    positions = []
    for symbol in reserve_symbols(book):
        tok = token(w3, book, symbol)
        supplied, stable, variable, *_mid, collateral = data.functions.getUserReserveData(
            tok.address, user
        ).call()
        if supplied or stable or variable:
            positions.append(
                Position(
                    symbol,
                    tok.to_units(supplied),
                    tok.to_units(stable + variable),
                    supplied,
                    stable + variable,
                    bool(collateral),
                )
            )
    collateral, debt, available, threshold, _ltv, hf = _account_data(w3, book, user)
    return Account(
        positions=tuple(positions),
        collateral_usd=Decimal(collateral).scaleb(-8),
        debt_usd=Decimal(debt).scaleb(-8),
        available_borrow_usd=Decimal(available).scaleb(-8),
        health_factor=_health(hf),
        liquidation_threshold=Decimal(threshold).scaleb(-4),
    )


def debt_usd(w3: Node, book: AddressBook, user: str) -> Decimal:
    """The user's debt on Aave in USD, in one call."""
    return Decimal(_account_data(w3, book, user)[1]).scaleb(-8)


def health_factor(w3: Node, book: AddressBook, user: str) -> Decimal | None:
    """The user's health factor (None without debt), in one call."""
    return _health(_account_data(w3, book, user)[5])


def _account_data(w3: Node, book: AddressBook, user: str) -> list[int]:
    pool = contract(w3, "aave_pool", book.aave_v3.pool)
    return list(pool.functions.getUserAccountData(user).call())


def _health(raw: int) -> Decimal | None:
    return None if raw == NO_DEBT_HEALTH_FACTOR else Decimal(raw).scaleb(-18)


def _underlying(symbol: str) -> str:
    """Aave lists WETH, not native ETH: ETH positions are WETH positions."""
    return "WETH" if symbol.upper() == NATIVE else symbol


def usd_price(w3: Node, book: AddressBook, tok: Token) -> Decimal:
    """USD per whole token from Aave's oracle (Chainlink feeds on live networks, 8 decimals)."""
    address = book.token("WETH") if tok.address is None else tok.address
    oracle = contract(w3, "aave_oracle", book.aave_v3.oracle)
    return Decimal(oracle.functions.getAssetPrice(address).call()).scaleb(-8)


def usd_prices(w3: Node, book: AddressBook) -> dict[str, Decimal]:
    """USD price of every token of ``book`` (ETH priced as WETH), in one oracle call; a zero price
    stays zero so that callers can fail closed on it."""
    assets = [book.token("WETH") if s == NATIVE else book.token(s) for s in book.symbols]
    oracle = contract(w3, "aave_oracle", book.aave_v3.oracle)
    prices = oracle.functions.getAssetsPrices(assets).call()
    return {s: Decimal(p).scaleb(-8) for s, p in zip(book.symbols, prices, strict=True)}


def live_book(w3: Node, book: AddressBook) -> AddressBook:
    """``book`` with the Aave pool, oracle and data provider its addresses provider names now.
    Aave upgrades these behind the one stable provider address, so a fork asks instead of trusting
    a copy taken on some earlier day."""
    provider = contract(w3, "aave_addresses_provider", book.aave_v3.pool_addresses_provider)
    aave = book.aave_v3.model_copy(
        update={
            "pool": provider.functions.getPool().call(),
            "oracle": provider.functions.getPriceOracle().call(),
            "data_provider": provider.functions.getPoolDataProvider().call(),
        }
    )
    return book.model_copy(update={"aave_v3": AaveV3Book.model_validate(aave.model_dump())})
