"""Two processes racing for the last of an allowance: exactly one is authorised. And a Hypothesis
state machine over grant / authorise / commit / release / revoke / warp holding the invariants."""

from __future__ import annotations

import multiprocessing
from decimal import Decimal
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.policy.kit import BOOK, WALLET, Harness, policy, sim, transfer, units


def _race(data_dir: str, session_id: str, barrier, results) -> None:
    h = Harness(Path(data_dir))
    session = h.store.get(session_id)
    call = transfer("USDC", WALLET, units("USDC", 6000))
    barrier.wait()
    results.put(h.authorize(session, (call, sim(call))).allowed)


def _first_session(data_dir: str, barrier, results) -> None:
    h = Harness(Path(data_dir))
    barrier.wait()
    started = h.store.create(policy(), "default.toml", None, None, BOOK.chain_id, h.now, first=True)
    results.put(started.id)


def test_two_processes_starting_the_default_session_start_one(tmp_path: Path) -> None:
    """Two commands that both execute a first plan at once start one default session between
    them, not one each (two fresh allowances)."""
    Harness(tmp_path)  # the schema, before the race
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [
        ctx.Process(target=_first_session, args=(str(tmp_path), barrier, results)) for _ in range(2)
    ]
    for w in workers:
        w.start()
    started = {results.get(timeout=60) for _ in workers}
    for w in workers:
        w.join(timeout=30)
    assert [s.id for s in Harness(tmp_path).store.all()] == list(started)


def test_two_processes_race_for_the_last_allowance(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    session = h.session(policy(max_usd_per_tx=10000, windows=[("usd", 10000, "24h")]))
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [
        ctx.Process(target=_race, args=(str(tmp_path), session.id, barrier, results))
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    outcomes = sorted(results.get(timeout=60) for _ in workers)
    for w in workers:
        w.join(timeout=30)
    assert outcomes == [False, True]


LIMIT_USD = 1000


class LedgerMachine(RuleBasedStateMachine):
    """Committed plus reserved spend never exceeds any limit; splitting never costs less than the
    whole; a revoked session never authorises."""

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        self.dir = tempfile.mkdtemp()
        self.h = Harness(Path(self.dir))
        self.open: list[dict] = []
        self.revoked = False

    @initialize()
    def grant(self) -> None:
        self.session = self.h.session(
            policy(max_usd_per_tx=400, windows=[("usd", LIMIT_USD, "24h")], lifetime_usd=3000),
            ttl="30d",
        )

    @rule(
        cents=st.integers(min_value=1, max_value=50_000),
        pieces=st.integers(min_value=1, max_value=4),
    )
    def authorise(self, cents: int, pieces: int) -> None:
        raw = units("USDC", Decimal(cents) / 100)
        calls = [
            transfer("USDC", WALLET, raw // pieces + (raw % pieces if i == 0 else 0))
            for i in range(pieces)
        ]
        decision = self.h.authorize(self.session, *[(c, sim(c)) for c in calls])
        if self.revoked:
            assert not decision.allowed
        if decision.allowed:
            assert decision.usd_cents >= cents
            self.open.extend(decision.grants)

    @precondition(lambda self: self.open)
    @rule(spent=st.booleans())
    def settle(self, spent: bool) -> None:
        self.h.engine.settle(self.open.pop(0), spent=spent)

    @rule()
    def revoke(self) -> None:
        if not self.revoked:
            self.h.store.revoke(self.session.id, self.h.now)
            self.revoked = True

    @rule(seconds=st.integers(min_value=0, max_value=3 * 86400))
    def warp(self, seconds: int) -> None:
        self.h.now += seconds

    @invariant()
    def within_limits(self) -> None:
        if not hasattr(self, "session"):
            return
        usage = self.h.engine.ledger.usage(self.session.id, self.h.now, (86400,))
        assert usage.usd_cents_since[86400] <= LIMIT_USD * 100
        assert usage.lifetime_usd_cents <= 3000 * 100


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
