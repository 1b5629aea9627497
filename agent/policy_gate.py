"""The policy engine as the core service sees it: the active session, prices from the on-chain
oracle and chain time read first, then one decision for the batch.

The session in effect is the newest one of the chat and the CLI (`SessionStore.latest`). The
first plan executed on a chain starts the default session, from the configured policy file
(the packaged `policies/default.toml` unless DEFI_AGENT_POLICY names another), as DESIGN.md
describes. Only then: once the session in effect has expired or was revoked, nothing is authorised
until the user starts a new one, so that neither revoking nor expiry is undone by a fresh default
session with a fresh allowance (and wider limits than the user's own session, perhaps). Reading
the session's status starts nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.errors import BadInput, PolicyDenied
from agent.events import Verdict as EventVerdict
from agent.remedies import permissions_hint
from agent.seams import Authorization, SessionStatus, SpendWindow
from policies.engine import PolicyEngine
from policies.model import DEFAULT_POLICY, Policy, find_policy, load_policy
from policies.rules import borrow_fits, one_asset
from policies.sessions import Session, SessionStore
from tools.aave_v3.reads import debt_usd, usd_prices
from tools.chain.addressbook import AddressBook
from tools.chain.plain import Node, clock
from tools.erc20.reads import token
from tools.tx import Call, SimulatedCall

_OWN_SESSION = (
    "name the session in effect (`defi-agent session list`), or give the strategy its own: "
    "session: {policy: FILE_OR_NAME, ttl: 7d}"
)


class PolicyGate:
    def __init__(
        self,
        w3: Node,
        book: AddressBook,
        engine: PolicyEngine,
        sessions: SessionStore,
        policy_file: Path | None,
    ) -> None:
        self.w3 = w3
        self.book = book
        self.engine = engine
        self.sessions = sessions
        self.policy_file = policy_file or DEFAULT_POLICY
        self.pinned: str | None = None
        self.previewed: Session | None = None
        """A session a dry run decides under without starting it (`preview`): it signs nothing."""

    def now(self) -> int:
        """Chain time: the time the next block will have (`clock`)."""
        return clock(self.w3)[1]

    def current(self) -> Session | None:
        """The previewed or pinned session, else the one in effect (active, expired or revoked),
        else None: there has never been one."""
        if self.previewed is not None:
            return self.previewed
        if self.pinned is not None:
            pinned = self.sessions.get(self.pinned)
            assert pinned is not None
            return pinned
        return self.sessions.latest(self.book.chain_id)

    def session(self, now: int | None = None) -> Session:
        """The current session; before the first one, the default session as it would start at
        chain time ``now`` (read when not given), not stored (`SessionStore.unstarted`): a grant
        starts it. The engine denies under a session that has expired or was revoked."""
        found = self.current()
        if found is not None:
            return found
        now = self.now() if now is None else now
        return self.sessions.unstarted(
            self.policy_file.read_text(), str(self.policy_file), self.book.chain_id, now
        )

    def _started(self, now: int) -> Session:
        """The current session, the default session started now when there has never been one."""
        return self.current() or self.sessions.create(
            self.policy_file.read_text(),
            str(self.policy_file),
            None,
            None,
            self.book.chain_id,
            now,
            first=True,
        )

    def policy(self) -> Policy:
        """The policy plans are made under: the current session's, else the one the default
        session will have (parsed once per policy text; the times do not matter here)."""
        return self.session(now=0).policy

    def authorize(
        self,
        calls: Sequence[Call],
        simulated: Sequence[SimulatedCall],
        health: Sequence[Decimal | None],
        after: Sequence[Authorization] = (),
        done: Sequence[tuple[Call, Mapping[str, int], str]] = (),
        owner: str | None = None,
    ) -> Authorization:
        block, now = clock(self.w3)
        run = self.sessions.get(owner) if owner and self.previewed is None else None
        session = run if run is not None and run.strategy is not None else self.session(now)
        # Only swaps this session authorised (and counted) cover what the rest spends.
        covered = [(call, deltas) for call, deltas, by in done if session.id and by == session.id]
        prices = usd_prices(self.w3, self.book)
        decimals = {s: token(self.w3, self.book, s).decimals for s in self.book.symbols}
        earlier = [a.decision[1] for a in after]
        decision = self.engine.authorize(
            session, calls, simulated, health, prices, decimals, now, earlier, covered
        )
        fits = decision.fits
        denied = {v.rule for v in decision.violations}
        if denied == {"health.min"}:
            debt = debt_usd(self.w3, self.book, self.engine.wallet)
            fits = borrow_fits(session.policy, decision.batch, debt)
        instead = None if fits is None else _fits(*fits)
        if instead is None and denied and session.strategy is None:  # a run's is its file's
            instead = permissions_hint(session.policy, denied)
        verdicts = tuple(EventVerdict(v.rule, v.allowed, v.message) for v in decision.verdicts)
        remaining = {v.rule: v.message for v in decision.verdicts if v.rule.startswith("spend.")}
        return Authorization(
            decision.allowed,
            verdicts,
            f"{session.name} ({session.id or 'not started'})",
            remaining,
            decision.needs_confirmation,
            (session, decision, block),
            instead,
        )

    def grant(
        self, authorization: Authorization, health: Sequence[Decimal | None] | None = None
    ) -> tuple[Any, ...]:
        """The engine's grant at the chain's time now, with the oracle's prices read again when a
        block was mined since the decision (on the same block they are the decision's), and
        ``health`` when the plan was simulated again since."""
        session, decision, decided_at = authorization.decision
        block, now = clock(self.w3)
        if not session.id:
            if self.previewed is not None:
                raise PolicyDenied("a previewed session signs nothing", hint="nothing was sent")
            session = self._started(now)
        prices = decision.batch.prices if block == decided_at else usd_prices(self.w3, self.book)
        granted = self.engine.grant(session, decision, now, prices, health)
        if not granted.allowed:
            reasons = "; ".join(v.message for v in granted.violations)
            raise PolicyDenied(
                f"denied by policy when about to sign: {reasons}", hint="nothing was sent"
            )
        return granted.grants

    def settle(self, grant: Any, *, spent: bool) -> None:
        self.engine.settle(grant, spent=spent)

    def new_session(
        self, policy_file: str | None, ttl: str | None, strategy: str | None = None
    ) -> SessionStatus:
        """Create a session; it becomes the one authorising from now on (the newest one). One
        for ``strategy`` (a run's own) authorises only where it is pinned."""
        path = find_policy(policy_file) if policy_file else self.policy_file
        load_policy(path)
        now = self.now()
        created = self.sessions.create(
            path.read_text(), str(path), None, ttl, self.book.chain_id, now, strategy
        )
        self.pinned = created.id if strategy is not None else None
        return self._status(created, now)

    def preview(self, policy_file: str, ttl: str | None) -> SessionStatus:
        """Decide from now on under the session `new_session` would start for ``policy_file``,
        without starting it (a dry run of a strategy that names its policy)."""
        path = Path(policy_file)
        load_policy(path)
        now = self.now()
        self.previewed = self.sessions.unstarted(
            path.read_text(), str(path), self.book.chain_id, now, ttl
        )
        return self._status(self.previewed, now)

    def pin(self, session_id: str | None, strategy: str | None = None) -> tuple[str, str]:
        """Decide from now on under ``session_id`` (else the session in effect), for the run of
        the strategy file ``strategy``: a strategy run's own session only for that file's runs,
        and no session that a newer one superseded (as a revocation is not undone by an older
        session still active)."""
        found = self._started(self.now()) if session_id is None else self.sessions.get(session_id)
        if found is None or found.chain_id != self.book.chain_id:
            raise BadInput(
                f"no session {session_id} on this chain", hint="see `defi-agent session list`"
            )
        if found.strategy is not None and found.strategy != strategy:
            raise BadInput(
                f"session {found.id} is the strategy run of {found.strategy}'s own: it "
                "authorises that run alone",
                hint=_OWN_SESSION,
            )
        if (newer := self.sessions.superseded_by(found)) is not None:
            raise BadInput(
                f"session {found.id} was superseded by session {newer}, the one in effect",
                hint=_OWN_SESSION,
            )
        self.pinned = found.id
        return found.id, found.name

    def revoke(self) -> SessionStatus:
        session = self.current()
        if session is None:
            raise BadInput("there is no session to revoke")
        now = self.now()
        self.sessions.revoke(session.id, now)
        return SessionStatus(session.id, session.name, session.policy.name, time.time(), True, ())

    def status(self) -> SessionStatus:
        """The current session's limits, use and expiry; before the first one, those of the
        default session as it would start now (its id empty: not started)."""
        now = self.now()
        return self._status(self.session(now), now)

    def _status(self, session: Session, now: int) -> SessionStatus:
        policy = session.policy
        usage = self.engine.ledger.usage(session.id, now, policy.limits.window_seconds)
        spans = []
        for w in policy.limits.windows:
            if w.usd is not None:
                used = Decimal(usage.usd_cents_since.get(w.seconds, 0)) / 100
                spans.append(SpendWindow(f"per {w.period}", used, w.usd))
            else:
                assert w.token is not None and w.amount is not None
                tok = token(self.w3, self.book, w.token)
                raw = one_asset(usage.tokens_since.get(w.seconds, {}), tok.symbol)
                spans.append(
                    SpendWindow(f"per {w.period}", tok.to_units(raw), w.amount, tok.symbol)
                )
        if policy.limits.lifetime_usd is not None:
            spans.append(
                SpendWindow(
                    "lifetime", Decimal(usage.lifetime_usd_cents) / 100, policy.limits.lifetime_usd
                )
            )
        void = session.void_at(now)
        expires_in = 0 if void else session.expires_at - now
        return SessionStatus(
            session.id,
            session.name,
            policy.name,
            time.time() + expires_in,
            session.revoked_at is not None,
            tuple(spans),
            void,
            usage.txs,
            policy,
        )


def _fits(symbol: str, amount: Decimal) -> str:
    return f"at most {amount:,f} {symbol} fits the session's limits now"
