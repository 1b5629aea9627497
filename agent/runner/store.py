"""Where a strategy run stands, in the data directory's database: which iteration, which entries of
it are done (and under which journal plan), what each produced, and when the last iteration ended.

A run is identified by the strategy file's path and content: running the same file again continues
its unfinished run; an edited file, or `--restart`, starts a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from agent.db import add_column, connect, transaction
from agent.errors import BadInput
from agent.processes import alive, held_elsewhere

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    digest TEXT NOT NULL,
    chain_id INTEGER NOT NULL,
    session_id TEXT,
    status TEXT NOT NULL,
    triggered INTEGER NOT NULL DEFAULT 0,
    iteration INTEGER NOT NULL DEFAULT 0,
    last_block INTEGER,
    last_time REAL,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS run_entries (
    run_id TEXT NOT NULL REFERENCES runs(id),
    iteration INTEGER NOT NULL,
    entry INTEGER NOT NULL,
    plan_id TEXT,
    status TEXT NOT NULL,
    produced TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (run_id, iteration, entry)
);
"""

FINISHED = ("done", "abandoned")
"""Statuses of a run that is not continued; any other (running, waiting, interrupted, failed,
denied) is picked up again by the next `defi-agent run` of the same file."""
LIVE = ("running", "waiting")
"""Statuses a run has only while the process running it lives: one whose process ended without
saying (killed) is shown as ``stopped``."""


@dataclass
class Run:
    id: str
    name: str
    path: str
    session_id: str | None
    status: str
    triggered: bool
    iteration: int
    last_block: int | None
    last_time: float | None
    error: str | None
    created_at: float
    pid: int | None = None
    """The process running it, while one is."""

    @property
    def shown_status(self) -> str:
        return "stopped" if self.status in LIVE and not alive(self.pid) else self.status


@dataclass(frozen=True)
class EntryState:
    iteration: int
    entry: int
    plan_id: str | None
    status: str
    produced: tuple[str, Decimal] | None


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class RunStore:
    def __init__(self, data_dir: Path) -> None:
        self.conn = connect(data_dir)
        self.conn.executescript(_SCHEMA)
        add_column(self.conn, "runs", "pid", "INTEGER")  # the process running it, since 2026-12

    def close(self) -> None:
        self.conn.close()

    def unfinished(
        self, path: Path, text: str, chain_id: int, *, edited: bool = False
    ) -> Run | None:
        """The newest unfinished run of the file at ``path`` with ``text``; with ``edited``, with
        another text (the file was edited since that run stopped)."""
        row = self.conn.execute(
            f"SELECT * FROM runs WHERE path = ? AND digest {'!=' if edited else '='} ? "
            "AND chain_id = ? AND status NOT IN (?, ?) ORDER BY created_at DESC LIMIT 1",
            (str(path), digest(text), chain_id, *FINISHED),
        ).fetchone()
        return _run(row) if row else None

    def last_done(self, path: Path, text: str, chain_id: int) -> Run | None:
        """This file's newest run that ran to its end."""
        row = self.conn.execute(
            "SELECT * FROM runs WHERE path = ? AND digest = ? AND chain_id = ? AND status = 'done' "
            "ORDER BY created_at DESC LIMIT 1",
            (str(path), digest(text), chain_id),
        ).fetchone()
        return _run(row) if row else None

    def abandon(self, run_id: str) -> None:
        self.update(run_id, status="abandoned")

    def take(self, path: Path, text: str, chain_id: int) -> Run | None:
        """This file's unfinished run, now held by this process, or None when there is none.
        `BadInput` when another process that is still alive runs it: two would execute its
        entries twice."""
        with transaction(self.conn):
            run = self.unfinished(path, text, chain_id)
            if run is not None:
                _refuse_if_held(run)
                run.pid = os.getpid()
                self.conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (run.pid, run.id))
        return run

    def start(self, name: str, path: Path, text: str, chain_id: int, session_id: str) -> Run:
        """A new run of the file, held by this process (`take` found none; checked again under the
        write lock, so that two processes starting the same file do not both start it)."""
        run_id, pid = uuid.uuid4().hex[:12], os.getpid()
        now = time.time()
        with transaction(self.conn):
            other = self.unfinished(path, text, chain_id)
            if other is not None:
                _refuse_if_held(other)
            self.conn.execute(
                "INSERT INTO runs (id, name, path, digest, chain_id, session_id, status, "
                "created_at, updated_at, pid) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                (run_id, name, str(path), digest(text), chain_id, session_id, now, now, pid),
            )
        found = self.get(run_id)
        assert found is not None
        return found

    def release(self, run_id: str) -> None:
        """This process no longer runs ``run_id``."""
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE runs SET pid = NULL WHERE id = ? AND pid = ?", (run_id, os.getpid())
            )

    def get(self, run_id: str) -> Run | None:
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def runs(self, limit: int = 20) -> list[Run]:
        rows = self.conn.execute(
            "SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [_run(r) for r in rows]

    def update(self, run_id: str, **fields: object) -> None:
        columns = ", ".join(f"{name} = ?" for name in fields)
        with transaction(self.conn):
            self.conn.execute(
                f"UPDATE runs SET {columns}, updated_at = ? WHERE id = ?",
                (*fields.values(), time.time(), run_id),
            )

    def entries(self, run_id: str, iteration: int) -> dict[int, EntryState]:
        rows = self.conn.execute(
            "SELECT * FROM run_entries WHERE run_id = ? AND iteration = ?", (run_id, iteration)
        ).fetchall()
        return {r["entry"]: _entry(r) for r in rows}

    def set_entry(
        self,
        run_id: str,
        iteration: int,
        entry: int,
        status: str,
        plan_id: str | None = None,
        produced: tuple[str, Decimal] | None = None,
    ) -> None:
        stored = json.dumps([produced[0], str(produced[1])]) if produced else None
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO run_entries VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id, iteration, entry) DO UPDATE SET "
                "plan_id = COALESCE(excluded.plan_id, plan_id), status = excluded.status, "
                "produced = COALESCE(excluded.produced, produced), "
                "updated_at = excluded.updated_at",
                (run_id, iteration, entry, plan_id, status, stored, time.time()),
            )


def _run(row: sqlite3.Row) -> Run:
    return Run(
        id=row["id"],
        name=row["name"],
        path=row["path"],
        session_id=row["session_id"],
        status=row["status"],
        triggered=bool(row["triggered"]),
        iteration=row["iteration"],
        last_block=row["last_block"],
        last_time=row["last_time"],
        error=row["error"],
        created_at=row["created_at"],
        pid=row["pid"],
    )


def _refuse_if_held(run: Run) -> None:
    if held_elsewhere(run.pid):
        raise BadInput(
            f"{run.name} (run {run.id}) is already running in process {run.pid}",
            hint=f"stop it first (Ctrl-C where it runs, or `kill {run.pid}`), then run the file again",
        )


def _entry(row: sqlite3.Row) -> EntryState:
    produced = json.loads(row["produced"]) if row["produced"] else None
    return EntryState(
        iteration=row["iteration"],
        entry=row["entry"],
        plan_id=row["plan_id"],
        status=row["status"],
        produced=(produced[0], Decimal(produced[1])) if produced else None,
    )
