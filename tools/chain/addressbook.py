"""Address books: the contracts and tokens of one profile. Every module reads addresses from here."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from tools.chain.address import is_checksum_address
from tools.tx import NATIVE


def _checksummed(value: str) -> str:
    if not is_checksum_address(value):
        raise ValueError(f"{value!r} is not a checksummed address")
    return value


Address = Annotated[str, AfterValidator(_checksummed)]


class UniswapV3Book(BaseModel):
    model_config = ConfigDict(frozen=True)
    factory: Address
    swap_router02: Address
    quoter_v2: Address
    position_manager: Address


class AaveV3Book(BaseModel):
    model_config = ConfigDict(frozen=True)
    pool_addresses_provider: Address
    pool: Address
    data_provider: Address
    oracle: Address


class AddressBook(BaseModel):
    """Tokens (ERC-20s by symbol; ETH is native and has no address) and protocol contracts."""

    model_config = ConfigDict(frozen=True)
    profile: str
    chain_id: int
    tokens: dict[str, Address]
    uniswap_v3: UniswapV3Book
    aave_v3: AaveV3Book

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every token a plan may name: the native token first, then the ERC-20s."""
        return (NATIVE, *self.tokens)

    def token(self, symbol: str) -> str:
        return self.tokens[symbol.upper()]

    def symbol_of(self, address: str) -> str | None:
        return self._symbols.get(address.lower())

    def spender_protocol(self, address: str) -> str | None:
        """The protocol whose contract at ``address`` pulls tokens under an approval (Uniswap's
        router, Aave's pool), if it is one."""
        return self._spenders.get(address.lower())

    @cached_property
    def _spenders(self) -> dict[str, str]:
        return {
            self.uniswap_v3.swap_router02.lower(): "uniswap-v3",
            self.aave_v3.pool.lower(): "aave-v3",
        }

    @cached_property
    def _symbols(self) -> dict[str, str]:
        return {token.lower(): symbol for symbol, token in self.tokens.items()}

    def contracts(self) -> dict[str, str]:
        """Protocol contracts by address, named ``protocol:role`` (e.g. ``aave-v3:pool``)."""
        named = {
            **{a: f"uniswap-v3:{k}" for k, a in self.uniswap_v3.model_dump().items()},
            **{a: f"aave-v3:{k}" for k, a in self.aave_v3.model_dump().items()},
        }
        return named

    def save(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2))

    @classmethod
    def load(cls, path: Path) -> AddressBook:
        return cls.model_validate(json.loads(path.read_text()))
