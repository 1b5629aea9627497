"""What every command shares: the settings (loaded once, here at the entry point) and the chain."""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING

from agent.settings import Settings

if TYPE_CHECKING:
    from web3 import Web3

    from agent.service import AgentService
    from tools.chain.running import ChainConfig, RunningChain


@cache
def settings() -> Settings:
    from pydantic import ValidationError

    from agent.errors import ConfigError

    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        field = "DEFI_AGENT_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise ConfigError(f"{field}: {first['msg']}") from None


def notify(message: str) -> None:
    sys.stderr.write(message + "\n")


@cache
def wallet_address() -> str:
    """The wallet's address: from DEFI_AGENT_PRIVATE_KEY, else the devnet's first account."""
    from tools.chain.running import DEVNET_WALLET

    key = settings().private_key
    if key is None:
        return DEVNET_WALLET
    from eth_account import Account

    from agent.errors import ConfigError

    try:
        return str(Account.from_key(key.get_secret_value()).address)
    except (ValueError, TypeError):
        raise ConfigError("DEFI_AGENT_PRIVATE_KEY is not a valid private key") from None


def chain_config() -> ChainConfig:
    from tools.chain.running import ChainConfig

    s = settings()
    return ChainConfig(
        data_dir=s.data_dir,
        profile=s.profile,
        wallet=wallet_address(),
        rpc_url=s.rpc_url.get_secret_value() if s.rpc_url else None,
        fork_block=s.fork_block,
    )


def service() -> tuple[AgentService, RunningChain]:
    """The core service on the data directory's chain, built from the settings."""
    from agent.wiring import build_service
    from tools.chain.running import ensure

    s = settings()
    chain = ensure(chain_config(), notify)
    built = build_service(
        url=chain.url,
        book=chain.book,
        data_dir=s.data_dir,
        key=s.private_key.get_secret_value() if s.private_key else None,
        model=s.model,
        base_url=s.base_url,
        policy_file=s.policy,
    )
    return built, chain


def connect_chain() -> tuple[RunningChain, Web3]:
    """The running chain of the data directory (started in the background if none is) and a client."""
    from tools.chain.rpc import connect
    from tools.chain.running import ensure

    chain = ensure(chain_config(), notify)
    return chain, connect(chain.url)
