"""QuoterV2 quotes across fee tiers and through WETH, picking the best route.

Price impact is measured against the mid price of the route's pools with their fees taken out, as
Uniswap's interface does: it is what the trade costs beyond the pool fees because the pools are not
deep enough. The slippage bound of a swap applies to it, and to the minimum out / maximum in sent
on chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from agent.errors import BadInput
from tools.chain.addressbook import AddressBook
from tools.chain.contracts import Reverted, contract
from tools.erc20.reads import Token, token
from tools.uniswap_v3.reads import PoolState, pool_state, pools

if TYPE_CHECKING:
    from tools.chain.plain import Node

Kind = Literal["exact_in", "exact_out"]
_FEE_DENOMINATOR = Decimal(1_000_000)


@dataclass(frozen=True)
class Route:
    """Tokens from input to output and the fee tier of each hop."""

    tokens: tuple[Token, ...]
    pools: tuple[PoolState, ...]

    @property
    def fees(self) -> tuple[int, ...]:
        return tuple(p.fee for p in self.pools)

    def path(self, reverse: bool = False) -> bytes:
        """Uniswap's packed path: token, fee (3 bytes), token, ...; reversed for exact output."""
        tokens = [t.address for t in self.tokens]
        fees = list(self.fees)
        if reverse:
            tokens, fees = tokens[::-1], fees[::-1]
        packed = bytes.fromhex(tokens[0][2:])  # type: ignore[index]
        for fee, address in zip(fees, tokens[1:], strict=True):
            packed += fee.to_bytes(3, "big") + bytes.fromhex(address[2:])  # type: ignore[index]
        return packed

    def mid_price(self) -> Decimal:
        """Output per whole input token at the pools' current mid prices, fees not counted."""
        price = Decimal(1)
        for pool, base, quote in zip(self.pools, self.tokens, self.tokens[1:], strict=False):
            price *= pool.price(base, quote)
        return price

    def fee_factor(self) -> Decimal:
        factor = Decimal(1)
        for fee in self.fees:
            factor *= 1 - Decimal(fee) / _FEE_DENOMINATOR
        return factor

    def describe(self) -> str:
        hops = [self.tokens[0].symbol]
        for fee, tok in zip(self.fees, self.tokens[1:], strict=True):
            hops.append(f"--{Decimal(fee) / 10_000}%--> {tok.symbol}")
        return " ".join(hops)


@dataclass(frozen=True)
class Quote:
    kind: Kind
    route: Route
    amount_in: int
    amount_out: int
    gas_estimate: int

    @property
    def token_in(self) -> Token:
        return self.route.tokens[0]

    @property
    def token_out(self) -> Token:
        return self.route.tokens[-1]

    @property
    def price_impact_bps(self) -> Decimal:
        """How much worse than the fee-adjusted mid price this trade executes, in basis points."""
        fair_out = (
            self.token_in.to_units(self.amount_in)
            * self.route.mid_price()
            * self.route.fee_factor()
        )
        got = self.token_out.to_units(self.amount_out)
        return max(Decimal(0), (1 - got / fair_out) * 10_000) if fair_out else Decimal(10_000)


_pool_cache: dict[tuple[int, str, str], tuple[PoolState, ...]] = {}


def _pools(w3: Node, book: AddressBook, a: Token, b: Token) -> tuple[PoolState, ...]:
    """Pools of a pair (their addresses and tiers are cached; prices are read fresh)."""
    key = (book.chain_id, *sorted((a.address or "", b.address or "")))
    if key not in _pool_cache:
        _pool_cache[key] = pools(w3, book, a, b)
    return tuple(pool_state(w3, p.address, p.fee, (p.token0, p.token1)) for p in _pool_cache[key])


def routes(w3: Node, book: AddressBook, token_in: Token, token_out: Token) -> list[Route]:
    """Direct pools in every fee tier, and two hops through WETH."""
    found = [Route((token_in, token_out), (p,)) for p in _pools(w3, book, token_in, token_out)]
    weth = token(w3, book, "WETH")
    if weth.address not in (token_in.address, token_out.address):
        for first in _pools(w3, book, token_in, weth):
            for second in _pools(w3, book, weth, token_out):
                found.append(Route((token_in, weth, token_out), (first, second)))
    return found


def _quote_route(w3: Node, quoter: str, route: Route, kind: Kind, amount: int) -> Quote | None:
    q = contract(w3, "quoter_v2", quoter).functions
    try:
        if kind == "exact_in":
            out, *_, gas = q.quoteExactInput(route.path(), amount).call()
            return Quote(kind, route, amount, int(out), int(gas))
        needed, *_, gas = q.quoteExactOutput(route.path(reverse=True), amount).call()
        return Quote(kind, route, int(needed), amount, int(gas))
    except Reverted:
        return None


def quotes(
    w3: Node, book: AddressBook, token_in: Token, token_out: Token, kind: Kind, amount: int
) -> list[Quote]:
    """Quotes over every route, best first: most out for an exact input, least in for an exact output."""
    if token_in.address == token_out.address:
        raise BadInput(f"cannot swap {token_in.symbol} into itself", code="invalid_amount")
    candidates = routes(w3, book, token_in, token_out)
    found = [
        quote
        for route in candidates
        if (quote := _quote_route(w3, book.uniswap_v3.quoter_v2, route, kind, amount))
    ]
    if not found:
        why = "has no pool" if not candidates else "has no liquidity for this amount"
        raise BadInput(
            f"{token_in.symbol} -> {token_out.symbol} {why} on Uniswap V3", code="no_route"
        )
    if kind == "exact_in":
        return sorted(found, key=lambda x: -x.amount_out)
    return sorted(found, key=lambda x: x.amount_in)


def best_quote(
    w3: Node, book: AddressBook, token_in: Token, token_out: Token, kind: Kind, amount: int
) -> Quote:
    return quotes(w3, book, token_in, token_out, kind, amount)[0]
