"""The data directory's SQLite file, opened by several processes at once."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from agent.datadir import DB_NAME
from agent.db import connect


def test_a_new_database_opened_while_another_process_writes_it_waits_for_it(
    tmp_path: Path,
) -> None:
    """Two `do` in a new data directory at once: one failed with "database is locked" (CI,
    2026-12-03), as SQLite does not wait to switch a new database to WAL while another
    connection holds its write lock."""
    other = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (x)")
    other.execute("BEGIN IMMEDIATE")  # as another process does while it makes its tables
    threading.Timer(0.3, other.execute, ("COMMIT",)).start()

    conn = connect(tmp_path)

    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute("INSERT INTO t VALUES (1)")
    assert other.execute("SELECT count(*) FROM t").fetchone()[0] == 1
