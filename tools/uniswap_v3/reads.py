"""Pool reads: which pools exist, their price and liquidity."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from tools.chain.address import to_checksum_address
from tools.chain.addressbook import AddressBook
from tools.chain.contracts import contract
from tools.erc20.reads import Token

if TYPE_CHECKING:
    from tools.chain.plain import Node

FEE_TIERS = (100, 500, 3000, 10000)
_NO_POOL = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class PoolState:
    address: str
    fee: int
    token0: str
    token1: str
    sqrt_price_x96: int
    tick: int
    liquidity: int

    def price(self, base: Token, quote: Token) -> Decimal:
        """Mid price: ``quote`` per whole ``base`` token."""
        raw = Decimal(self.sqrt_price_x96) ** 2 / Decimal(2) ** 192  # token1 per token0, raw
        if base.address and base.address.lower() == self.token1.lower():
            raw = 1 / raw
        return raw * Decimal(10) ** (base.decimals - quote.decimals)


def pool_address(w3: Node, book: AddressBook, a: Token, b: Token, fee: int) -> str | None:
    assert a.address and b.address
    factory = contract(w3, "uniswap_factory", book.uniswap_v3.factory)
    found = factory.functions.getPool(a.address, b.address, fee).call()
    return None if found == _NO_POOL else to_checksum_address(found)


def pool_state(
    w3: Node, address: str, fee: int, tokens: tuple[str, str] | None = None
) -> PoolState:
    """A pool's price and liquidity now; its tokens, which never change, are read only when the
    caller does not know them yet."""
    pool = contract(w3, "uniswap_pool", address)
    sqrt_price, tick, *_ = pool.functions.slot0().call()
    token0, token1 = tokens or (pool.functions.token0().call(), pool.functions.token1().call())
    return PoolState(
        address=address,
        fee=fee,
        token0=token0,
        token1=token1,
        sqrt_price_x96=sqrt_price,
        tick=tick,
        liquidity=pool.functions.liquidity().call(),
    )


def pools(w3: Node, book: AddressBook, a: Token, b: Token) -> tuple[PoolState, ...]:
    """Every pool of the pair across fee tiers that has liquidity."""
    found = []
    for fee in FEE_TIERS:
        address = pool_address(w3, book, a, b, fee)
        if address is not None:
            state = pool_state(w3, address, fee)
            if state.liquidity > 0:
                found.append(state)
    return tuple(found)
