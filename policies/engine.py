"""The policy engine: one decision for a whole batch of transactions, with a verdict per rule.

`authorize` decides when a plan is proposed, from the ledger's usage as it stands, and writes
nothing: a plan that is only looked at, dry-run or discarded reserves no allowance and signs no
authorisation. `grant` runs when the plan is about to be signed: it decides again, at the chain
time and prices of that moment, inside one SQLite write transaction that reads the usage and takes
the reservations, so two processes racing for the last of an allowance cannot both get it. An
allowed batch comes back with one grant per call: its reservation and the session key's EIP-712
authorisation of exactly that call.

Prices and chain time are read by the caller; the rules (`policies.rules`) are pure.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from agent.db import transaction
from policies import rules
from policies.ledger import Ledger
from policies.rules import Batch, Verdict
from policies.sessions import Session, SessionStore, authorization_message
from tools.chain.address import to_checksum_address
from tools.chain.addressbook import AddressBook
from tools.decode import Decoder
from tools.tx import Call, SimulatedCall

_USD_LIMIT = re.compile(r"spend\.(?:per_tx|lifetime|window\.)")
"""The rules that deny on a USD amount: a smaller amount may pass them (`rules.fits`)."""


class Decision(NamedTuple):
    allowed: bool
    verdicts: tuple[Verdict, ...]
    needs_confirmation: bool
    batch: Batch
    """What was decided on, decoded and valued: `grant` decides on it again."""
    grants: tuple[dict[str, Any], ...] = ()
    fits: tuple[str, Decimal] | None = None
    """On a denial by USD limits alone, of a batch spending one token: how much of it they allow
    now (`rules.fits`)."""

    @property
    def usd_cents(self) -> int:
        """What the batch counts against the session's allowances."""
        return self.batch.usd_cents

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
        self.wallet = to_checksum_address(wallet)
        """Checksummed, as every address the decoder reports: the rules compare them as they are."""
        self.decoder = Decoder(book, self.wallet)

    def authorize(
        self,
        session: Session,
        calls: Sequence[Call],
        simulated: Sequence[SimulatedCall],
        health: Sequence[Decimal | None],
        prices: Mapping[str, Decimal],
        decimals: Mapping[str, int],
        now: int,
        after: Sequence[Decision] = (),
        done: Sequence[tuple[Call, Mapping[str, int]]] = (),
    ) -> Decision:
        """The decision on ``calls`` as simulated, from the ledger as it stands and ``session`` as
        the caller just read it (revoked or not); writes nothing. With ``after``, as if those
        decisions' batches had been executed first. ``done`` are the calls of the same plan
        already executed, each with its step's simulated changes: what their swaps received, or
        their approvals let a protocol pull, is not counted again when these calls spend it (a
        resumed plan)."""
        batch = Batch.of(
            [self.decoder.decode(c) for c in calls],
            simulated,
            health,
            prices,
            decimals,
            self.book,
            self.wallet,
            now,
            *self._executed(done),
            session.expires_at,
        )
        if after:
            batch = batch._replace(after=tuple(s for d in after for s in d.batch.spends))
        return self._decide(session, batch, session)

    def _executed(
        self, done: Sequence[tuple[Call, Mapping[str, int]]]
    ) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
        """What the swaps among ``done`` put in the wallet, and what their approvals let a
        spender pull (by symbol and spender in lower case), judged on their decoded calldata."""
        received: dict[str, int] = {}
        approved: dict[tuple[str, str], int] = {}
        for call, deltas in done:
            decoded = self.decoder.decode(call)
            if decoded.approval is not None and decoded.spender is not None:
                key = (decoded.approval.symbol, decoded.spender.lower())
                approved[key] = approved.get(key, 0) + decoded.approval.amount
            if rules.swaps(decoded):
                for symbol, raw in deltas.items():
                    if raw > 0:
                        received[symbol] = received.get(symbol, 0) + raw
        return received, approved

    def grant(
        self,
        session: Session,
        decision: Decision,
        now: int,
        prices: Mapping[str, Decimal],
        health: Sequence[Decimal | None] | None = None,
    ) -> Decision:
        """Decide on ``decision``'s batch again at chain time ``now`` and ``prices`` (and
        ``health``, from a simulation made again since, if given), under the ledger's write lock;
        if it is still allowed, reserve each call's spend and sign its authorisation, before
        anything is signed for the chain."""
        batch = decision.batch.at(now, prices, health)
        grants: list[dict[str, Any]] = []
        with transaction(self.conn):
            stored = self.sessions.get(session.id)
            again = self._decide(session, batch, stored, self.sessions.superseded_by(session))
            if not again.allowed:
                return again
            for call, spend in zip(batch.calls, batch.spends, strict=True):
                reservation = self.ledger.reserve(
                    session.id, now, spend.usd_cents or 0, spend.tokens
                )
                message = authorization_message(
                    session.id,
                    self.book.chain_id,
                    call.call.to,
                    call.call.value,
                    call.call.data,
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
        return again._replace(grants=tuple(grants))

    def _decide(
        self,
        session: Session,
        batch: Batch,
        current: Session | None,
        superseded_by: str | None = None,
    ) -> Decision:
        """``current`` is the session as stored now: None, or revoked, denies; so does
        ``superseded_by``, a newer session of the chat and the CLI started since the decision (the
        plan was shown under this one's limits, and the user chose the newer one's)."""
        policy = session.policy
        usage = self.ledger.usage(session.id, batch.now, policy.limits.window_seconds)
        if batch.after:
            usage = usage.after([(s.usd_cents or 0, s.tokens) for s in batch.after], batch.now)
        verdicts = [
            rules.active(
                policy,
                batch,
                usage,
                expires_at=session.expires_at,
                revoked=current is None or current.revoked_at is not None,
                superseded_by=superseded_by,
                altered=current is not None and current.charter == "broken",
                void=current is not None and current.void_at(batch.now),
                foreign=not self.sessions.owns(session.id),
            )
        ]
        verdicts += [rule(policy, batch, usage) for rule in rules.RULES]
        threshold = policy.limits.confirm_above_usd
        needs_confirmation = False
        if threshold is not None:
            value = rules.value_cents(batch)  # unpriced: a person decides
            needs_confirmation = value is None or Decimal(value) / 100 > threshold
        denied = [v.rule for v in verdicts if not v.allowed]
        only_usd = bool(denied) and all(_USD_LIMIT.match(rule) for rule in denied)
        fits = rules.fits(policy, batch, usage) if only_usd else None
        return Decision(not denied, tuple(verdicts), needs_confirmation, batch, fits=fits)

    def settle(self, grant: dict[str, Any], *, spent: bool) -> None:
        with transaction(self.conn):
            self.ledger.settle(int(grant["reservation"]), spent=spent)
