"""What every command shares: the settings (loaded once, here at the entry point) and the chain."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from agent.settings import Settings

if TYPE_CHECKING:
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
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{field}: {message}") from None


def notify(message: str) -> None:
    sys.stderr.write(message + "\n")


@cache
def wallet_key() -> str | None:
    """The wallet's key: DEFI_AGENT_PRIVATE_KEY, or the keystore file DEFI_AGENT_KEYSTORE decrypted
    with DEFI_AGENT_KEYSTORE_PASSWORD (asked on the terminal when unset); None on the devnet's
    first account. Errors never include the key or the password."""
    from agent.errors import ConfigError

    s = settings()
    if s.private_key is not None and s.keystore is not None:
        raise ConfigError(
            "both DEFI_AGENT_PRIVATE_KEY and DEFI_AGENT_KEYSTORE are set",
            hint="keep one of them",
        )
    if s.private_key is not None:
        return s.private_key.get_secret_value()
    if s.keystore is None:
        return None
    return _decrypt(s.keystore, s.keystore_password)


def _decrypt(path: Path, password: SecretStr | None) -> str:
    import json

    from agent.errors import ConfigError
    from tools.chain import keystore

    path = path.expanduser()
    try:
        stored = json.loads(path.read_text())
    except OSError as error:
        raise ConfigError(f"cannot read the keystore {path}: {error.strerror}") from None
    except ValueError:
        raise ConfigError(f"{path} is not a keystore (not JSON)") from None
    if password is not None:
        secret = password.get_secret_value()
    elif sys.stdin.isatty():
        import getpass

        secret = getpass.getpass(f"password of {path}: ")
    else:
        raise ConfigError(
            f"the keystore {path} needs its password",
            hint="set DEFI_AGENT_KEYSTORE_PASSWORD, or run from a terminal to be asked",
        )
    try:
        return "0x" + keystore.decrypt(stored, secret).hex()
    except keystore.WrongPassword:
        raise ConfigError(f"cannot decrypt the keystore {path}: wrong password") from None
    except keystore.KeystoreError as error:
        raise ConfigError(
            f"{path} is not a keystore v3 file this reads ({error})",
            hint="keystore v3 with scrypt or pbkdf2 (hmac-sha256) and aes-128-ctr",
        ) from None


@cache
def wallet_address() -> str:
    """The wallet's address: from the configured key, else the devnet's first account."""
    from tools.chain.running import DEVNET_WALLET

    key = wallet_key()
    if key is None:
        return DEVNET_WALLET
    from coincurve import PrivateKey

    from agent.errors import ConfigError
    from tools.chain.address import address_of

    try:
        raw = bytes.fromhex(key.removeprefix("0x"))
        if len(raw) != 32:
            raise ValueError
        secret = PrivateKey(raw)
    except ValueError:
        raise ConfigError("DEFI_AGENT_PRIVATE_KEY is not a valid private key") from None
    return address_of(secret.public_key)


def chain_config() -> ChainConfig:
    from tools.chain.running import ChainConfig

    s = settings()
    return ChainConfig(
        data_dir=s.data_dir,
        profile=s.profile,
        wallet=wallet_address(),
        rpc_url=s.rpc_url.get_secret_value() if s.rpc_url else None,
        fork_block=s.fork_block,
        on_rewind=_void_sessions,
    )


def _void_sessions(chain_id: int) -> None:
    """The chain starts over from an earlier state: its sessions are void from now on."""
    from agent.db import connect
    from policies.sessions import void_sessions

    voided = void_sessions(connect(settings().data_dir), chain_id)
    if voided:
        notify(
            f"voided {voided} session{'s' if voided != 1 else ''} of the chain before it started "
            "over: `defi-agent session new` starts one"
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
        key=wallet_key(),
        model=s.model,
        base_url=s.base_url,
        policy_file=s.policy,
    )
    return built, chain
