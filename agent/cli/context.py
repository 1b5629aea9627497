"""What every command shares: the settings, loaded once here at the entry point."""

from __future__ import annotations

from functools import cache

from agent.settings import Settings


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
