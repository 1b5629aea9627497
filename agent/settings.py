"""Settings, read once at the entry point from the environment and `.env` (prefix ``DEFI_AGENT_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.datadir import data_dir_problem


class Settings(BaseSettings):
    """Everything configurable; passed down explicitly, never re-read below the entry point."""

    model_config = SettingsConfigDict(
        env_prefix="DEFI_AGENT_", env_file=".env", extra="ignore", frozen=True
    )

    model: str | None = Field(
        default=None,
        description="`provider:model` for LangChain's init_chat_model; unset = offline rule parser.",
    )
    base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible base URL (vLLM, llama.cpp server, LM Studio) for the model.",
    )
    profile: Literal["local", "fork"] = "local"
    rpc_url: SecretStr | None = Field(
        default=None, description="RPC URL of the live network to fork (profile `fork`)."
    )
    fork_block: int | None = Field(default=None, description="Block to fork at (default: latest).")
    data_dir: Path = Field(default=Path(".defi-agent"))
    policy: Path | None = Field(
        default=None,
        description="Policy file of the default session (default: policies/default.toml).",
    )
    private_key: SecretStr | None = Field(
        default=None, description="Wallet key; the devnet's first account when unset."
    )
    keystore: Path | None = Field(
        default=None,
        description="Encrypted wallet key file (Ethereum keystore v3 JSON), instead of private_key.",
    )
    keystore_password: SecretStr | None = Field(
        default=None, description="Password of the keystore; asked on the terminal when unset."
    )
    block_seconds: float = Field(
        default=12,
        gt=0,
        description="While a strategy run waits, a chain that made no block for this long gets "
        "one (anvil mines only when a transaction comes).",
    )

    @field_validator("policy")
    @classmethod
    def _policy_exists(cls, policy: Path | None) -> Path | None:
        """A policy file, or the name of a shipped one (as `session new --policy` takes)."""
        if policy is None:
            return None
        from agent.errors import ConfigError
        from policies.model import find_policy

        try:
            return find_policy(str(policy))
        except ConfigError as error:
            raise ValueError(f"{error.message} ({error.hint})") from None

    @field_validator("data_dir")
    @classmethod
    def _usable(cls, path: Path) -> Path:
        """A directory the agent can write (it is created on first use), or where one can be."""
        problem = data_dir_problem(path)
        if problem is not None:
            raise ValueError(problem)
        return path
