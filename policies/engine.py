"""The policy engine: one decision for a whole batch of transactions, with a verdict per rule.

Prices and chain time are read by the caller before; usage is read and the reservations written
in one SQLite write transaction, so two processes racing for the last of an allowance cannot both
get it. An allowed batch comes back with one grant per call: its reservation and the session key's
EIP-712 authorisation of exactly that call.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from agent.db import transaction
from policies import rules
from policies.ledger import Ledger
from policies.rules import Batch, Verdict
from policies.sessions import Session, SessionStore, authorization_message
from tools.chain.addressbook import AddressBook
from tools.decode import Decoder
from tools.tx import Call, SimulatedCall


@dataclass(frozen=True)
class Decision:
    allowed: bool
    verdicts: tuple[Verdict, ...]
    needs_confirmation: bool
    usd_cents: int
    grants: tuple[dict[str, Any], ...]

    @property
    def violations(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if not v.allowed)


class PolicyEngine:
    def __init__(
        self, conn: sqlite3.Connection, sessions: SessionStore, book: AddressBook, wallet: str
    ) -> None:
        self.conn = conn
        self.sessions = sessions
        self.ledger = Ledger(conn)
        self.book = book
        self.wallet = wallet
        self.decoder = Decoder(book, wallet)

    def authorize(
        self,
        session: Session,
        calls: Sequence[Call],
        simulated: Sequence[SimulatedCall],
        health: Sequence[Decimal | None],
        prices: dict[str, Decimal],
        decimals: dict[str, int],
        now: int,
    ) -> Decision:
        policy = session.policy
        batch = Batch(
            [self.decoder.decode(c) for c in calls],
            simulated,
            health,
            prices,
            decimals,
            self.book,
            self.wallet,
            now,
        )
        batch = replace(batch, spends=tuple(rules.spends_of(batch)))
        total = sum(s.usd_cents or 0 for s in batch.spends)
        windows = tuple({w.seconds for w in policy.limits.windows})
        with transaction(self.conn):
            usage = self.ledger.usage(session.id, now, windows)
            revoked = self.sessions.get(session.id)
            verdicts = [
                rules.active(
                    policy,
                    batch,
                    usage,
                    expires_at=session.expires_at,
                    revoked=revoked is None or revoked.revoked_at is not None,
                ),
                *(rule(policy, batch, usage) for rule in rules.RULES),
            ]
            allowed = all(v.allowed for v in verdicts)
            grants: list[dict[str, Any]] = []
            if allowed:
                for call, spend in zip(calls, batch.spends, strict=True):
                    reservation = self.ledger.reserve(
                        session.id, now, spend.usd_cents or 0, spend.tokens
                    )
                    message = authorization_message(
                        session.id,
                        self.book.chain_id,
                        call.to,
                        call.value,
                        call.data,
                        spend.usd_cents or 0,
                        reservation,
                    )
                    grants.append(
                        {
                            "session": session.id,
                            "reservation": reservation,
                            "authorization": message,
                            "signature": self.sessions.sign(session, message),
                        }
                    )
        threshold = policy.limits.confirm_above_usd
        needs_confirmation = threshold is not None and Decimal(total) / 100 > threshold
        return Decision(allowed, tuple(verdicts), needs_confirmation, total, tuple(grants))

    def settle(self, grant: dict[str, Any], *, spent: bool) -> None:
        with transaction(self.conn):
            self.ledger.settle(int(grant["reservation"]), spent=spent)
