"""The one SQLite database of a data directory: journal, sessions and spend ledger live in it.

A connection may be used from the service's worker thread (calls are serialised per process).
Connections run in autocommit mode so that writers take their own lock explicitly with
``BEGIN IMMEDIATE`` (see `transaction`), which is what makes reservations atomic across processes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agent.datadir import DB_NAME
from agent.errors import ConfigError

TIMEOUT_S = 30.0


def connect(data_dir: Path) -> sqlite3.Connection:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            data_dir / DB_NAME, isolation_level=None, timeout=TIMEOUT_S, check_same_thread=False
        )
    except (OSError, sqlite3.OperationalError) as error:
        raise ConfigError(f"DEFI_AGENT_DATA_DIR: cannot use {data_dir}: {error}") from None
    conn.row_factory = sqlite3.Row
    _write_ahead(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _write_ahead(conn: sqlite3.Connection) -> None:
    """Put the database in WAL mode. Switching a new database needs its exclusive lock, and SQLite
    does not wait for it while another connection holds the write lock (it could deadlock): the
    second of two processes opening a new data directory at once saw "database is locked"."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


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
