"""Reading the small text files a user hands the agent: policies and strategies."""

from __future__ import annotations

from pathlib import Path

from agent.errors import ConfigError

MAX_BYTES = 1_000_000


def read_text_file(path: Path, kind: str) -> str:
    """The UTF-8 text of the ``kind`` file (policy, strategy) at ``path``; a `ConfigError` when it
    cannot be read, is not UTF-8, or is larger than `MAX_BYTES`, which no such file is (``/dev/zero``
    was read until memory ran out)."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"cannot read {kind} file {path}: {error.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{kind} file {path} is larger than 1 MB, which no {kind} file is")
    try:
        return raw.decode()
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{kind} file {path} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at "
            f"offset {error.start})",
            hint=f"save the {kind} file as UTF-8",
        ) from None
