"""The journal: every plan, step and transaction with its status, written before and after each send.

Statuses of a transaction, in order: ``planned``, ``simulated``, ``authorised``, ``signed`` (its hash
is known and recorded *before* it is sent), ``sent``, then ``confirmed`` or ``failed``. A plan is
``planned``, ``simulated``, ``denied``, ``dry_run``, ``executing``, ``done`` or ``failed``. Because
the hash is written before the send, an interrupted run can always be told apart: a ``signed`` or
``sent`` transaction is looked up by hash on resume and never sent twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.db import add_column, connect, transaction
from agent.errors import BadInput, DefiAgentError
from agent.processes import held_elsewhere
from tools.tx import Call

_SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    intent TEXT NOT NULL,
    plan_json TEXT NOT NULL,
    status TEXT NOT NULL,
    chain_id INTEGER NOT NULL,
    wallet TEXT NOT NULL,
    session_id TEXT,
    error TEXT,
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS txs (
    plan_id TEXT NOT NULL REFERENCES plans(id),
    step INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    label TEXT NOT NULL,
    to_address TEXT NOT NULL,
    data TEXT NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    tx_hash TEXT,
    nonce INTEGER,
    gas_used INTEGER,
    authorization TEXT,
    simulated_deltas TEXT,
    error TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (plan_id, step, idx)
);
CREATE TABLE IF NOT EXISTS plan_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id TEXT NOT NULL REFERENCES plans(id),
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""

FINAL_TX = frozenset({"confirmed", "failed"})


@dataclass(frozen=True)
class TxRecord:
    plan_id: str
    step: int
    idx: int
    call: Call
    status: str
    tx_hash: str | None
    nonce: int | None
    error: str | None
    authorization: dict[str, Any] | None
    step_deltas: dict[str, int]
    """What the simulation said the call's step changes, per token (the same for each call of
    the step)."""
    step_fee_wei: int = 0
    """The network fee the simulation said the step pays, in ``step_deltas``' ETH (0 for a step
    recorded before it was kept)."""


@dataclass(frozen=True)
class PlanRecord:
    id: str
    created_at: float
    intent: str
    plan: dict[str, Any]
    status: str
    chain_id: int
    wallet: str
    session_id: str | None
    error: str | None

    @property
    def described(self) -> str:
        """The plan in words, with what was typed for it when that reads otherwise (QA: a
        journal of "0.2" and "make it 5000 instead")."""
        summary = str(self.plan.get("summary") or "")
        if not summary:
            return self.intent
        typed = " ".join(self.intent.lower().split()).replace(",", "")
        if typed in summary.lower().replace(",", ""):  # "1000" typed is the summary's "1,000"
            return summary
        return f"{summary} (“{self.intent}”)"


class Journal:
    def __init__(self, data_dir: Path) -> None:
        self.conn: sqlite3.Connection = connect(data_dir)
        self.conn.executescript(_SCHEMA)
        add_column(self.conn, "plans", "pid", "INTEGER")  # who executes it, since 2026-12
        add_column(self.conn, "txs", "simulated_fee_wei", "TEXT")  # since 2026-12

    def hold(self, plan_id: str) -> None:
        """Record this process as the one executing ``plan_id``; `BadInput` when another process
        that is still alive does (a second would send what the first is sending)."""
        with transaction(self.conn):
            row = self.conn.execute("SELECT pid FROM plans WHERE id = ?", (plan_id,)).fetchone()
            if row is not None and held_elsewhere(row["pid"]):
                raise BadInput(
                    f"plan {plan_id} is being executed by process {row['pid']}",
                    code="plan_busy",
                    hint="wait for it to finish (or stop it), then resume the plan if it is not done",
                )
            self.conn.execute("UPDATE plans SET pid = ? WHERE id = ?", (os.getpid(), plan_id))

    def release(self, plan_id: str) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE plans SET pid = NULL WHERE id = ? AND pid = ?", (plan_id, os.getpid())
            )

    def close(self) -> None:
        self.conn.close()

    def new_plan(self, intent: str, plan: dict[str, Any], chain_id: int, wallet: str) -> str:
        plan_id = uuid.uuid4().hex[:12]
        now = time.time()
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO plans (id, created_at, updated_at, intent, plan_json, status, "
                "chain_id, wallet) VALUES (?, ?, ?, ?, ?, 'planned', ?, ?)",
                (plan_id, now, now, intent, json.dumps(plan), chain_id, wallet),
            )
        self.event(plan_id, "planned", {"intent": intent})
        return plan_id

    def set_plan_status(
        self, plan_id: str, status: str, *, error: str | None = None, session_id: str | None = None
    ) -> None:
        # An execution starts afresh, and a plan done has no error: an earlier attempt's error
        # stays in the plan's events only.
        kept = "?" if status in ("executing", "done") else "COALESCE(?, error)"
        with transaction(self.conn):
            self.conn.execute(
                f"UPDATE plans SET status = ?, error = {kept}, "
                "session_id = COALESCE(?, session_id), updated_at = ? WHERE id = ?",
                (status, error, session_id, time.time(), plan_id),
            )
        self.event(plan_id, status, {"error": error} if error else {})

    def record_calls(
        self,
        plan_id: str,
        step: int,
        calls: tuple[Call, ...],
        deltas: dict[str, int],
        status: str,
        fee_wei: int = 0,
    ) -> None:
        """Record a step's calls, with what its simulation said it changes and pays (replacing an
        earlier version of the same step that was never sent)."""
        now = time.time()
        with transaction(self.conn):
            sent = self.conn.execute(
                "SELECT COUNT(*) FROM txs WHERE plan_id = ? AND step = ? AND tx_hash IS NOT NULL",
                (plan_id, step),
            ).fetchone()[0]
            if sent:
                raise DefiAgentError(f"step {step} of plan {plan_id} already has sent transactions")
            self.conn.execute("DELETE FROM txs WHERE plan_id = ? AND step = ?", (plan_id, step))
            self.conn.executemany(
                "INSERT INTO txs (plan_id, step, idx, label, to_address, data, value, status, "
                "simulated_deltas, simulated_fee_wei, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        plan_id,
                        step,
                        i,
                        c.label,
                        c.to,
                        c.data.hex(),
                        str(c.value),
                        status,
                        json.dumps(deltas),
                        str(fee_wei),
                        now,
                    )
                    for i, c in enumerate(calls)
                ],
            )

    def set_tx(
        self,
        plan_id: str,
        step: int,
        idx: int,
        status: str,
        *,
        tx_hash: str | None = None,
        nonce: int | None = None,
        gas_used: int | None = None,
        error: str | None = None,
    ) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE txs SET status = ?, tx_hash = COALESCE(?, tx_hash), nonce = COALESCE(?, nonce), "
                "gas_used = COALESCE(?, gas_used), error = COALESCE(?, error), updated_at = ? "
                "WHERE plan_id = ? AND step = ? AND idx = ?",
                (
                    status,
                    tx_hash,
                    nonce,
                    gas_used,
                    error,
                    time.time(),
                    plan_id,
                    step,
                    idx,
                ),
            )

    def authorise(self, plan_id: str, grants: list[tuple[int, int, dict[str, Any]]]) -> None:
        """Record each transaction's grant (step, index, grant) as ``authorised``, in one write."""
        now = time.time()
        with transaction(self.conn):
            self.conn.executemany(
                "UPDATE txs SET status = 'authorised', authorization = ?, updated_at = ? "
                "WHERE plan_id = ? AND step = ? AND idx = ?",
                [(json.dumps(g), now, plan_id, step, idx) for step, idx, g in grants],
            )

    def event(self, plan_id: str, kind: str, detail: dict[str, Any]) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO plan_events (plan_id, at, kind, detail) VALUES (?, ?, ?, ?)",
                (plan_id, time.time(), kind, json.dumps(detail, default=str)),
            )

    def balances_before(self, plan_id: str) -> dict[str, int] | None:
        """The wallet's balances when the plan began executing (its first "balances" event)."""
        row = self.conn.execute(
            "SELECT detail FROM plan_events WHERE plan_id = ? AND kind = 'balances' "
            "ORDER BY rowid LIMIT 1",
            (plan_id,),
        ).fetchone()
        return {k: int(v) for k, v in json.loads(row[0]).items()} if row else None

    def plan(self, plan_id: str) -> PlanRecord | None:
        row = self.conn.execute("SELECT * FROM plans WHERE id = ?", (plan_id,)).fetchone()
        return _plan(row) if row else None

    def starting_with(self, prefix: str) -> list[PlanRecord]:
        """The plans whose id starts with ``prefix`` (a whole id, or the start of one)."""
        rows = self.conn.execute(
            "SELECT * FROM plans WHERE substr(id, 1, ?) = ?", (len(prefix), prefix)
        )
        return [_plan(r) for r in rows]

    def plan_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM plans").fetchone()[0])

    def plans(self, limit: int = 50) -> list[PlanRecord]:
        rows = self.conn.execute("SELECT * FROM plans ORDER BY created_at DESC LIMIT ?", (limit,))
        return [_plan(r) for r in rows]

    def txs(self, plan_id: str) -> list[TxRecord]:
        rows = self.conn.execute(
            "SELECT * FROM txs WHERE plan_id = ? ORDER BY step, idx", (plan_id,)
        )
        return [_tx(r) for r in rows]

    def authorised(self) -> list[TxRecord]:
        """Every transaction that carries an authorisation, in the order they were granted."""
        rows = self.conn.execute(
            "SELECT * FROM txs WHERE authorization IS NOT NULL ORDER BY updated_at"
        )
        return [_tx(r) for r in rows]


def _tx(row: sqlite3.Row) -> TxRecord:
    return TxRecord(
        row["plan_id"],
        row["step"],
        row["idx"],
        Call(row["to_address"], bytes.fromhex(row["data"]), int(row["value"]), row["label"]),
        row["status"],
        row["tx_hash"],
        row["nonce"],
        row["error"],
        json.loads(row["authorization"]) if row["authorization"] else None,
        json.loads(row["simulated_deltas"] or "{}"),
        int(row["simulated_fee_wei"] or 0),
    )


def _plan(row: sqlite3.Row) -> PlanRecord:
    return PlanRecord(
        row["id"],
        row["created_at"],
        row["intent"],
        json.loads(row["plan_json"]),
        row["status"],
        row["chain_id"],
        row["wallet"],
        row["session_id"],
        row["error"],
    )
