"""The spend ledger: what each session has spent, in integers (USD cents rounded up, token base
units), kept in the data directory's SQLite database.

A reservation is taken, inside the same write transaction that read the usage (``BEGIN
IMMEDIATE``), before anything is signed; it is committed on a successful receipt and released on
a revert or when nothing was sent. A reservation whose outcome is unknown stays counted until it is
resolved. Rolling windows refill as chain time passes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import NamedTuple

_COUNTED = "status IN ('reserved', 'committed')"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    usd_cents INTEGER NOT NULL,
    tokens TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('reserved', 'committed', 'released'))
);
CREATE INDEX IF NOT EXISTS reservations_by_session ON reservations (session_id, created_at);
CREATE INDEX IF NOT EXISTS reservations_counted ON reservations (session_id) WHERE {_COUNTED};
"""
_USED = (
    f"SELECT created_at, usd_cents, tokens FROM reservations WHERE session_id = ? AND {_COUNTED}"
)
"""What a session's usage is counted from: the partial index `reservations_counted` holds exactly
these rows, so released reservations, however many, cost a usage read nothing."""


class Spent(NamedTuple):
    """One counted reservation: when it was taken (chain time), its USD cents and tokens."""

    at: int
    usd_cents: int
    tokens: Mapping[str, int]


class Usage(NamedTuple):
    """What a session has used, counted from reservations that are reserved or committed."""

    usd_cents_since: Mapping[int, int]
    """Window length in seconds -> USD cents spent within it."""
    tokens_since: Mapping[int, Mapping[str, int]]
    lifetime_usd_cents: int
    txs: int
    spent: tuple[Spent, ...] = ()
    """Each counted reservation, oldest first: when each leaves a window, it refills."""

    def after(self, spends: Sequence[tuple[int, Mapping[str, int]]], now: int) -> Usage:
        """This usage with ``spends`` (USD cents and tokens, a transaction each) reserved at
        ``now``, so within every window: what it would be once they were executed."""
        cents = sum(c for c, _ in spends)
        tokens = {
            window: _plus(held, [t for _, t in spends])
            for window, held in self.tokens_since.items()
        }
        return Usage(
            {window: used + cents for window, used in self.usd_cents_since.items()},
            tokens,
            self.lifetime_usd_cents + cents,
            self.txs + len(spends),
            (*self.spent, *(Spent(now, c, t) for c, t in spends)),
        )


def _plus(held: Mapping[str, int], more: Sequence[Mapping[str, int]]) -> dict[str, int]:
    total = dict(held)
    for tokens in more:
        for symbol, raw in tokens.items():
            total[symbol] = total.get(symbol, 0) + raw
    return total


class Ledger:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.conn.executescript(_SCHEMA)

    def usage(self, session_id: str, now: int, windows: tuple[int, ...]) -> Usage:
        """Read inside the caller's write transaction, so that nobody can spend between this read
        and the reservation that follows it."""
        rows = self.conn.execute(_USED, (session_id,)).fetchall()
        spent = tuple(
            sorted(
                (Spent(r["created_at"], r["usd_cents"], json.loads(r["tokens"])) for r in rows),
                key=lambda s: s.at,
            )
        )
        usd: dict[int, int] = {}
        tokens: dict[int, dict[str, int]] = {}
        for window in windows:
            usd[window] = 0
            tokens[window] = {}
            for row in spent:
                if row.at > now - window:
                    usd[window] += row.usd_cents
                    for symbol, raw in row.tokens.items():
                        tokens[window][symbol] = tokens[window].get(symbol, 0) + raw
        return Usage(usd, tokens, sum(r.usd_cents for r in spent), len(spent), spent)

    def reserve(self, session_id: str, now: int, usd_cents: int, tokens: Mapping[str, int]) -> int:
        cursor = self.conn.execute(
            "INSERT INTO reservations (session_id, created_at, usd_cents, tokens, status) VALUES (?, ?, ?, ?, 'reserved')",
            (session_id, now, usd_cents, json.dumps(dict(tokens))),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def settle(self, reservation: int, *, spent: bool) -> None:
        self.conn.execute(
            "UPDATE reservations SET status = ? WHERE id = ? AND status = 'reserved'",
            ("committed" if spent else "released", reservation),
        )

    def entries(self, session_id: str) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT * FROM reservations WHERE session_id = ? ORDER BY id", (session_id,)
        ).fetchall()
