"""The one SQLite database of a data directory: journal, sessions and spend ledger live in it.

A connection may be used from the service's worker thread (calls are serialised per process).
Connections run in autocommit mode so that writers take their own lock explicitly with
``BEGIN IMMEDIATE`` (see `transaction`), which is what makes reservations atomic across processes.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agent.errors import ConfigError

DB_NAME = "agent.db"


def data_dir_problem(path: Path) -> str | None:
    """Why ``path`` cannot be the data directory (it is created on first use, so it need not
    exist: the nearest part of it that does must be a writable directory), or None."""
    existing = next(p for p in (path, *path.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        return f"{existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None


def connect(data_dir: Path) -> sqlite3.Connection:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            data_dir / DB_NAME, isolation_level=None, timeout=30.0, check_same_thread=False
        )
    except (OSError, sqlite3.OperationalError) as error:
        raise ConfigError(f"DEFI_AGENT_DATA_DIR: cannot use {data_dir}: {error}") from None
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def add_column(conn: sqlite3.Connection, table: str, column: str, kind: str) -> None:
    """Add ``column`` to ``table`` of a database made before it existed."""
    if column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction holding the database's write lock from its first statement."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
