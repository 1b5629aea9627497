"""A policy file's default slippage, kept across processes so that `plan` answers without tomllib.

`plan` in a data directory with no session plans as the default session will: with the default
slippage of `policies/default.toml`. Importing tomllib to read it costs about 4 ms, a tenth of
`plan`'s whole start-up. The value is kept in ``__pycache__`` beside this module, by the exact text
it was read from (the newest few texts): a later process that reads the same text takes the value, and any other
text (the file edited, another policy) is parsed again. Written as bytecode is: not when Python
may not write bytecode (``PYTHONDONTWRITEBYTECODE``), in which case `make setup` writes it for the
default policy (``python -m agent.policy_defaults``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from policies import DEFAULT_SLIPPAGE_BPS

CACHE = Path(__file__).with_name("__pycache__") / "policy_defaults.json"
KEPT = 8
"""How many policy texts the file keeps, the newest: the default policy, and a few of the user's."""


def default_slippage_bps(text: str) -> int:
    """The ``slippage.default_bps`` of the policy ``text`` (validated before, or by the session
    that will be made from it)."""
    kept = _read()
    bps = kept.get(text)
    if type(bps) is int:  # not a bool, nor anything else a damaged file holds
        return bps
    bps = parsed(text)
    if not sys.dont_write_bytecode:
        keep(text, bps)
    return bps


def parsed(text: str) -> int:
    import tomllib

    return int(tomllib.loads(text).get("slippage", {}).get("default_bps", DEFAULT_SLIPPAGE_BPS))


def _read() -> dict[str, object]:
    try:
        kept = json.loads(CACHE.read_text())
    except (OSError, ValueError):
        return {}
    return kept if isinstance(kept, dict) else {}


def keep(text: str, bps: int) -> None:
    """Add ``text`` as the newest of the file's texts, and keep the `KEPT` newest. The file is
    replaced at once (nothing when this module's directory is not writable): a process reading it
    meanwhile reads the old file or the new one, whole."""
    kept = _read()
    kept.pop(text, None)
    kept[text] = bps
    temporary = CACHE.with_name(f"{CACHE.name}.{os.getpid()}")
    try:
        CACHE.parent.mkdir(exist_ok=True)
        temporary.write_text(json.dumps(dict(list(kept.items())[-KEPT:])))
        os.replace(temporary, CACHE)
    except OSError:
        temporary.unlink(missing_ok=True)


def keep_default() -> None:
    """What `make setup` runs: the default policy's, kept (read afresh)."""
    from policies import DEFAULT_POLICY

    text = DEFAULT_POLICY.read_text()
    keep(text, parsed(text))


if __name__ == "__main__":
    keep_default()
