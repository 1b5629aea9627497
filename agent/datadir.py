"""Whether a path can be the data directory: checked by the settings and by `plan`'s quick path,
which answers before the settings (and sqlite3) are imported."""

from __future__ import annotations

import os
from pathlib import Path

DB_NAME = "agent.db"
"""The SQLite database in the data directory: journal, sessions, ledger, runs."""


def data_dir_problem(path: Path) -> str | None:
    """Why ``path`` cannot be the data directory (it is created on first use, so it need not
    exist: the nearest part of it that does must be a writable directory), or None."""
    existing = next(p for p in (path, *path.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        return f"{existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None
