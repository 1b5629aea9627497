"""Carries out a strategy file through the core service, headless, under one session.

An iteration runs the strategy's entries in order; each entry is one plan, proposed (simulated,
authorised) and executed by the same `AgentService` as the chat and `defi-agent do`. Progress is
written to the run store before and after every entry, so a run that stops (Ctrl-C, a crash, a
dropped chain) continues where it stopped: entries that were executed are not repeated, and an entry
caught mid-send is finished by the service's `resume`, which never sends a transaction twice.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.errors import BadInput, DefiAgentError
from agent.events import Event, PlanProposed, PolicyDecision, RunDone, RunFailed
from agent.intents.summary import describe, risk_of, summarise
from agent.runner.events import (
    EntrySkipped,
    EntryStarted,
    RunEvent,
    StrategyDone,
    StrategyStarted,
    Waiting,
)
from agent.runner.readings import ChainReadings
from agent.runner.store import Run, RunStore
from agent.service import AgentService
from policies.model import find_policy
from policies.rules import NEW_SESSION
from strategies.script.expr import Guard, parse_guard
from strategies.script.model import IntentEntry, StrategyFile, TypedEntry, retries
from strategies.tokens import produced_token, same_asset, spent_token

INTERRUPTED = 130
RETRY_SECONDS, RETRY_MAX_SECONDS = 1.0, 30.0
"""The wait before an entry's second attempt, doubled before each next one up to the most: a
chain that went away, or a price that moved, is not retried in the same instant."""
LOOK_SECONDS = 1.0
"""How often a wait looks again at whether the run's session still authorises anything."""


@dataclass
class _Outcome:
    """What became of one entry: its plan (id and steps), then success or the failure."""

    plan_id: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    ok: bool = False
    failure: RunFailed | None = None
    produced: tuple[str, Decimal] | None = None
    needs_confirmation: bool = False


class Runner:
    def __init__(
        self,
        service: AgentService,
        store: RunStore,
        strategy: StrategyFile,
        path: Path,
        text: str,
        *,
        dry_run: bool = False,
        restart: bool = False,
        poll_seconds: float = 0.2,
        block_seconds: float = 12.0,
    ) -> None:
        self.svc = service
        self.store = store
        self.strategy = strategy
        self.path = path.resolve()
        self.text = text
        self.dry_run = dry_run
        self.restart = restart
        self.poll = poll_seconds
        self.block_seconds = block_seconds
        """While the run waits, a chain that has made no block for this long gets one: anvil
        mines only when a transaction comes, and a wait for blocks, or for a guard that time
        changes (interest, a health factor), would never end."""
        self._stop = threading.Event()
        self._readings: ChainReadings | None = None
        self._resumed = False
        self._previous: str | None = None
        self._failure: StrategyDone | None = None
        self._looked_at = float("-inf")
        """When `_session_gone` last looked (monotonic seconds)."""
        self._until_met = False

    def stop(self) -> None:
        """Finish the entry in flight, then stop (safe to call from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def _holds(self, guard: Guard) -> bool:
        assert self._readings is not None
        return await asyncio.to_thread(guard.holds, self._readings)

    async def run(self) -> AsyncIterator[Event | RunEvent]:
        """The run's events, from `StrategyStarted` to `StrategyDone`; what stops it before it
        starts (no chain, a session it may not use, an edited file) is raised, as every command
        reports an error before its first event (QA: a lone StrategyDone without a run)."""
        ctx = await asyncio.to_thread(self.svc.chain_context)
        self._readings = ChainReadings(ctx)
        if self.dry_run:
            async for event in self._dry_run():
                yield event
            return
        run, session = self._open(ctx.book.chain_id)
        count = self.strategy.repeat.count if self.strategy.repeat else 1
        try:
            yield StrategyStarted(
                run.id,
                self.strategy.name,
                session,
                self._resumed,
                run.iteration,
                count,
                self._previous,
            )
            async for event in self._loop(run, count):
                yield event
        finally:
            self.store.release(run.id)

    def _open(self, chain_id: int) -> tuple[Run, str]:
        """This file's unfinished run (unless restarting) or a new one, with its session pinned
        (created the first time when the strategy names a policy), as "name (id)"."""
        found = self.store.take(self.path, self.text, chain_id)
        if found is not None and self.restart:
            self.store.abandon(found.id)
            found = None
        edited = (
            None if found else self.store.unfinished(self.path, self.text, chain_id, edited=True)
        )
        if edited is not None:
            if not self.restart:
                raise self._edited(edited)
            self.store.abandon(edited.id)
        self._resumed = found is not None
        last = None if found is not None else self.store.last_done(self.path, self.text, chain_id)
        gate = self.svc.authorizer
        ref = self.strategy.session
        fresh = ref is not None and ref.policy is not None
        self._previous = None if last is None else _previously(last, fresh_session=fresh)
        if found is not None and found.session_id is not None:
            session_id, name = gate.pin(found.session_id, str(self.path))
        elif ref is not None and ref.policy is not None:
            created = gate.new_session(
                str(find_policy(ref.policy, self.path.parent)), ref.ttl, str(self.path)
            )
            session_id, name = gate.pin(created.id, str(self.path))
        else:
            session_id, name = gate.pin(ref.id if ref is not None else None, str(self.path))
        run = found or self.store.start(
            self.strategy.name, self.path, self.text, chain_id, session_id
        )
        return run, f"{name} ({session_id})"

    def _edited(self, run: Run) -> BadInput:
        """Why the edited file does not start over: its unfinished run's entries would run again."""
        entries = self.store.entries(run.id, run.iteration).values()
        flight = [e.plan_id for e in entries if e.status == "executing" and e.plan_id]
        done = sum(1 for e in entries if e.status == "done")
        where = f"{run.iteration} iteration{'' if run.iteration == 1 else 's'} done"
        if done:
            where += f", and {done} entr{'y' if done == 1 else 'ies'} of the next"
        hint = "put the file back as it was to go on with that run, or `run FILE --restart` to "
        hint += "abandon it and start the edited file from its first entry"
        if flight:
            hint += f"; `defi-agent resume {flight[0]}` finishes the plan it left in flight"
        return BadInput(
            f"{self.path.name} was edited since its run {run.id} stopped ({where}): the "
            "edited file would start again from its first entry",
            hint=hint,
        )

    async def _loop(self, run: Run, count: int | None) -> AsyncIterator[Event | RunEvent]:
        repeat = self.strategy.repeat
        until = parse_guard(repeat.until) if repeat and repeat.until else None
        try:
            for entry in self.store.entries(run.id, run.iteration).values():
                if entry.status == "executing" and entry.plan_id is not None:
                    if not self.svc.started(entry.plan_id):  # QA: "nothing to resume", exit 2
                        self._never_sent(run, entry.entry, entry.plan_id)
                        continue
                    async for event in self._finish(run, entry.entry, entry.plan_id):
                        yield event
                    if self._failure is not None:
                        yield self._failure
                        return
            if self.strategy.when and not run.triggered:
                if (gone := await self._session_gone(run)) is not None:
                    yield gone
                    return
                guard = parse_guard(self.strategy.when)
                self.store.update(run.id, status="waiting")
                yield Waiting(run.id, "trigger", f"until {self.strategy.when}")
                if not await self._wait_for(run, guard):
                    yield self._failure or self._interrupted(run)
                    return
                self.store.update(run.id, triggered=1, status="running")
                run.triggered = True
            while count is None or run.iteration < count:
                if not self.store.entries(run.id, run.iteration):
                    if run.iteration > 0 and until is not None and await self._holds(until):
                        self._until_met = True  # no need to wait the interval out first
                        break
                    if run.iteration > 0 and repeat is not None:
                        await self._since_a_reset(run)
                        if (gone := await self._session_gone(run)) is not None:
                            yield gone
                            return
                        wait = self._interval(run)
                        yield wait
                        if not await self._wait_interval(run):
                            yield self._failure or self._interrupted(run)
                            return
                    if until is not None and await self._holds(until):
                        self._until_met = True
                        break
                async for event in self._iteration(run):
                    yield event
                if self._failure is not None:
                    yield self._failure
                    return
                if self.stopping:
                    yield self._interrupted(run)
                    return
                run.iteration += 1
                if repeat is not None and (count is None or run.iteration < count):
                    # where the interval to the next iteration counts from (none: no reads)
                    if repeat.every.unit == "blocks":
                        run.last_block = await self.svc.block_number()
                    run.last_time = await self.svc.chain_time()
                self.store.update(
                    run.id,
                    iteration=run.iteration,
                    last_block=run.last_block,
                    last_time=run.last_time,
                )
        except DefiAgentError as error:
            self.store.update(run.id, status="failed", error=error.message)
            yield StrategyDone(run.id, "failed", run.iteration, error.one_line(), error.exit_code)
            return
        self.store.update(run.id, status="done")
        yield StrategyDone(run.id, "done", run.iteration, self._done_message(run), 0)

    def _done_message(self, run: Run) -> str:
        what = f"{run.iteration} iteration{'s' if run.iteration != 1 else ''}"
        if self._until_met and self.strategy.repeat and self.strategy.repeat.until:
            return f"{what}; {self.strategy.repeat.until} holds"
        return what

    def _stopped(self, run: Run, n: int, failure: RunFailed) -> StrategyDone:
        """The run stops at failed or denied entry ``n``; the next run of the file retries it."""
        status = "denied" if failure.exit_code == 3 else "failed"
        self.store.update(run.id, status=status, error=failure.message)
        advice = self._new_session_advice()
        reason = self._run_advice(failure.message)
        if failure.code == "needs_confirmation":  # the service's advice is for a person
            reason = _CANNOT_CONFIRM
        if advice not in reason:  # that advice says how to go on
            reason += "; running the same file again retries this entry (--restart starts over)"
        message = f"entry {n}: {reason}"
        return StrategyDone(run.id, status, run.iteration, message, failure.exit_code)

    def _run_advice(self, message: str) -> str:
        """``message`` with the advice to start a new session by hand, which a run does not
        take up, made the run's own (`_new_session_advice`)."""
        return message.replace(NEW_SESSION, self._new_session_advice())

    def _new_session_advice(self) -> str:
        """How a run whose session was revoked or expired goes on: a run stays with the session
        it began under, so a new session by hand does not reach it."""
        ref = self.strategy.session
        if ref is not None and ref.policy is not None:
            return "run the file with --restart: the new run starts a new session of its policy"
        if ref is not None and ref.id is not None:
            return "name an active session in the file, then run it with --restart"
        return "start a new session (`defi-agent session new`), then run the file with --restart"

    def _interrupted(self, run: Run) -> StrategyDone:
        self.store.update(run.id, status="interrupted")
        return StrategyDone(
            run.id,
            "interrupted",
            run.iteration,
            "stopped; run the same file again to continue where it stopped",
            INTERRUPTED,
        )

    async def _session_gone(self, run: Run) -> StrategyDone | None:
        """Before a wait for the trigger or the interval, and during it: the run stopped at once
        when its session authorises nothing more, rather than after the wait (QA: after `chain
        reset`, a run "continued" and waited under a void session). A step that does not wait
        needs no such look: the policy denies it under that session, with the same advice."""
        self._looked_at = time.monotonic()
        status = await asyncio.to_thread(self.svc.authorizer.status)
        if status.ended is None:
            return None
        message = f"the run's session {status.id} {status.ended}; {self._new_session_advice()}"
        self.store.update(run.id, status="denied", error=message)
        return StrategyDone(run.id, "denied", run.iteration, message, 3)

    async def _gone_meanwhile(self, run: Run) -> bool:
        """During a wait, about once a second: whether the run's session authorises nothing more,
        the run's end then kept in `_failure` (QA: a run waiting for a far-off trigger went on
        waiting after its session was revoked)."""
        if time.monotonic() - self._looked_at < LOOK_SECONDS:
            return False
        self._failure = await self._session_gone(run)
        return self._failure is not None

    async def _since_a_reset(self, run: Run) -> None:
        """A chain reset since the last iteration puts the block number and the clock back: the
        interval counts from the chain's block and time now, not from ones it will reach only
        much later (QA: "waiting 3600s" was 51 hours of the new chain's time)."""
        if run.last_block is not None:
            block = await self.svc.block_number()
            if block < run.last_block:
                run.last_block = block
                self.store.update(run.id, last_block=block)
        if run.last_time is not None:
            now = await self.svc.chain_time()
            if now < run.last_time:
                run.last_time = now
                self.store.update(run.id, last_time=now)

    def _interval(self, run: Run) -> Waiting:
        repeat = self.strategy.repeat
        assert repeat is not None
        if repeat.every.unit == "blocks":
            target = (run.last_block or 0) + repeat.every.count
            return Waiting(run.id, "interval", f"until block {target}", target)
        return Waiting(run.id, "interval", f"{repeat.every.count}s after the last iteration")

    async def _wait_interval(self, run: Run) -> bool:
        """Until the interval has passed; False when asked to stop, or when the session ended
        meanwhile (`_gone_meanwhile`)."""
        repeat = self.strategy.repeat
        assert repeat is not None
        blocks = _Blocks(self.svc, self.block_seconds)
        while not self.stopping:
            if await self._gone_meanwhile(run):
                return False
            if repeat.every.unit == "blocks":
                if await blocks.latest() >= (run.last_block or 0) + repeat.every.count:
                    return True
            elif await self.svc.chain_time() >= (run.last_time or 0) + repeat.every.count:
                return True
            await asyncio.sleep(self.poll)
        return False

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` of the wall clock; False when asked to stop meanwhile."""
        deadline = time.monotonic() + seconds
        while not self.stopping:
            if time.monotonic() >= deadline:
                return True
            await asyncio.sleep(min(self.poll, max(0.0, deadline - time.monotonic())))
        return False

    async def _wait_for(self, run: Run, guard: Guard) -> bool:
        """Until ``guard`` holds, checked on every new block; False when asked to stop, or when
        the session ended meanwhile (`_gone_meanwhile`)."""
        blocks = _Blocks(self.svc, self.block_seconds)
        seen = None
        while not self.stopping:
            if await self._gone_meanwhile(run):
                return False
            block = await blocks.latest()
            if block != seen:
                if await self._holds(guard):
                    return True
                seen = block
            await asyncio.sleep(self.poll)
        return False

    async def _iteration(self, run: Run) -> AsyncIterator[Event | RunEvent]:
        self._failure = None
        done = self.store.entries(run.id, run.iteration)
        produced = {n: e.produced for n, e in done.items() if e.produced is not None}
        for n, entry in enumerate(self.strategy.steps, start=1):
            if n in done and done[n].status in ("done", "skipped"):
                continue
            if self.stopping:
                return
            if entry.when and not await self._holds(parse_guard(entry.when)):
                self.store.set_entry(run.id, run.iteration, n, "skipped")
                yield EntrySkipped(run.id, run.iteration + 1, n, f"{entry.when} does not hold")
                continue
            outcome = _Outcome()
            for attempt in range(1, retries(self._on_error(entry)) + 2):
                if attempt > 1:
                    delay = min(RETRY_SECONDS * 2 ** (attempt - 2), RETRY_MAX_SECONDS)
                    yield Waiting(run.id, "retry", f"{delay:g}s before attempt {attempt}")
                    if not await self._pause(delay):
                        return
                text, plan = self._plan_of(entry, produced)
                yield EntryStarted(run.id, run.iteration + 1, n, text, attempt)
                outcome = _Outcome()
                async for event in self._execute(run, n, text, plan, outcome):
                    yield event
                if outcome.ok or (outcome.failure and outcome.failure.exit_code == 3):
                    break
            if outcome.ok:
                if outcome.produced is not None:
                    produced[n] = outcome.produced
                continue
            failure = outcome.failure
            assert failure is not None
            if self._skips(entry, failure):
                self.store.set_entry(run.id, run.iteration, n, "skipped")
                yield EntrySkipped(run.id, run.iteration + 1, n, failure.message)
                continue
            self._failure = self._stopped(run, n, failure)
            return

    def _on_error(self, entry: IntentEntry | TypedEntry) -> str:
        return entry.on_error or self.strategy.on_error

    def _skips(self, entry: IntentEntry | TypedEntry, failure: RunFailed) -> bool:
        """Whether the run goes on past ``entry`` failed with ``failure``: it says
        ``on_error: skip``, and the policy did not deny it (a denial always stops the run)."""
        return failure.exit_code != 3 and self._on_error(entry) == "skip"

    def _plan_of(
        self, entry: IntentEntry | TypedEntry, produced: dict[int, tuple[str, Decimal]]
    ) -> tuple[str, dict[str, Any] | None]:
        if isinstance(entry, IntentEntry):
            return entry.intent, None
        step = entry.fields
        if step["action"] == "swap" and "max_slippage_bps" not in step:
            step["max_slippage_bps"] = self.svc.authorizer.policy().slippage.default_bps
        amount = str(step["amount"])
        if amount.startswith("output:"):
            source = int(amount.removeprefix("output:"))
            made = produced.get(source)
            wanted = spent_token(step)
            if made is None or made[1] <= 0:
                raise BadInput(f"step {source} produced nothing for a later step to use")
            if not same_asset(made[0], wanted):
                raise BadInput(f"step {source} produced {made[0]}, not the {wanted} this step uses")
            step = {**step, "amount": format(made[1].normalize(), "f")}
        text = describe(step)
        plan = {"intent": text, "summary": summarise([step]), "risk": risk_of([step])}
        return text, {**plan, "steps": [step]}

    async def _propose(
        self,
        text: str,
        plan: dict[str, Any] | None,
        outcome: _Outcome,
        after: Sequence[str] = (),
    ) -> AsyncIterator[Event | RunEvent]:
        """The service's proposal events, with the plan's id, steps or failure kept in
        ``outcome``."""
        async for event in self.svc.propose(text, plan, after):
            if isinstance(event, PolicyDecision):  # QA: its verdicts told the CLI's way on
                verdicts = tuple(
                    replace(v, message=self._run_advice(v.message)) for v in event.verdicts
                )
                event = replace(event, verdicts=verdicts)
            elif isinstance(event, RunFailed):
                event = replace(event, message=self._run_advice(event.message))
            yield event
            if isinstance(event, PlanProposed):
                outcome.steps = list(event.plan["steps"])
            elif isinstance(event, PolicyDecision):
                outcome.plan_id = event.plan_id
                outcome.needs_confirmation = event.needs_confirmation
            elif isinstance(event, RunFailed):
                outcome.failure = event

    async def _execute(
        self, run: Run, n: int, text: str, plan: dict[str, Any] | None, outcome: _Outcome
    ) -> AsyncIterator[Event | RunEvent]:
        async for event in self._propose(text, plan, outcome):
            yield event
        if outcome.failure is not None:
            return
        assert outcome.plan_id is not None
        self.store.set_entry(run.id, run.iteration, n, "executing", outcome.plan_id)
        async for event in self.svc.execute(outcome.plan_id, human_confirmed=False):
            yield event
            if isinstance(event, RunFailed):
                self.store.set_entry(run.id, run.iteration, n, "failed")
                outcome.failure = event
                return
            if isinstance(event, RunDone):
                outcome.ok = True
                outcome.produced = _produced(outcome.steps, event)
        self.store.set_entry(run.id, run.iteration, n, "done", outcome.plan_id, outcome.produced)

    def _never_sent(self, run: Run, n: int, plan_id: str) -> None:
        """An entry interrupted before its plan was authorised to be sent: it runs again from its
        request, as if it had not begun, and its plan is recorded as discarded."""
        self.svc.journal.set_plan_status(plan_id, "discarded")
        self.store.set_entry(run.id, run.iteration, n, "interrupted")

    async def _finish(self, run: Run, n: int, plan_id: str) -> AsyncIterator[Event | RunEvent]:
        """An entry caught mid-send by an interruption: the service finishes it without
        sending again what was sent."""
        yield EntryStarted(run.id, run.iteration + 1, n, f"resuming plan {plan_id}")
        produced = None
        async for event in self.svc.resume(plan_id):
            yield event
            if isinstance(event, RunFailed):
                self.store.set_entry(run.id, run.iteration, n, "failed")
                self._failure = self._stopped(run, n, event)
                return
            if isinstance(event, RunDone):  # its changes are the whole plan's
                record = self.svc.journal.plan(plan_id)
                produced = _produced(list(record.plan["steps"]) if record else [], event)
        self.store.set_entry(run.id, run.iteration, n, "done", plan_id, produced)

    async def _dry_run(self) -> AsyncIterator[Event | RunEvent]:
        """One iteration, simulated and checked against the session a run would have, nothing
        sent or started: the strategy's own policy (as its session would start now), the session
        it names, else the one in effect. Each entry is simulated and decided as if the entries
        before it had been executed. Guards are reported as they stand now instead of waited
        for."""
        name = self.strategy.name
        gate, ref = self.svc.authorizer, self.strategy.session
        if ref is not None and ref.policy is not None:
            status = gate.preview(str(find_policy(ref.policy, self.path.parent)), ref.ttl)
        else:
            if ref is not None and ref.id is not None:
                gate.pin(ref.id, str(self.path))
            status = gate.status()
        session = f"{status.name} ({status.id or status.state})"
        yield StrategyStarted("dry-run", name, session, False, 0, 1)
        if self.strategy.when and not await self._holds(parse_guard(self.strategy.when)):
            yield Waiting("dry-run", "trigger", f"{self.strategy.when} does not hold now")
        proposed: list[str] = []
        try:
            async for event in self._dry_entries(proposed):
                yield event
        finally:
            for plan_id in proposed:
                self.svc.discard(plan_id, dry_run=True)

    async def _dry_entries(self, proposed: list[str]) -> AsyncIterator[Event | RunEvent]:
        """The dry run's entries, each proposed after those in ``proposed`` (which it joins)."""
        produced: dict[int, tuple[str, Decimal]] = {}
        skipped = 0
        for n, entry in enumerate(self.strategy.steps, start=1):
            if entry.when and not await self._holds(parse_guard(entry.when)):
                yield EntrySkipped("dry-run", 1, n, f"{entry.when} does not hold now")
                skipped += 1
                continue
            try:
                text, plan = self._plan_of(entry, produced)
            except DefiAgentError as error:
                yield StrategyDone("dry-run", "failed", 0, error.one_line(), error.exit_code)
                return
            yield EntryStarted("dry-run", 1, n, text)
            outcome = _Outcome()
            async for event in self._propose(text, plan, outcome, after=proposed):
                yield event
            if outcome.failure is None and outcome.needs_confirmation:  # QA: exit 0, the run 3
                assert outcome.plan_id is not None
                proposed.append(outcome.plan_id)
                message = f"entry {n}: {_CANNOT_CONFIRM}"
                yield StrategyDone("dry-run", "denied", 0, message, 3)
                return
            if outcome.failure is not None:
                failure = outcome.failure
                if self._skips(entry, failure):  # as the run would (QA)
                    yield EntrySkipped("dry-run", 1, n, f"{failure.message} (on_error: skip)")
                    skipped += 1
                    continue
                status = "denied" if failure.exit_code == 3 else "failed"
                message = f"entry {n}: {failure.message}"
                yield StrategyDone("dry-run", status, 0, message, failure.exit_code)
                return
            assert outcome.plan_id is not None
            proposed.append(outcome.plan_id)
            done = self.svc.outcome(outcome.plan_id)
            assert done is not None
            yield done
            made = _produced(outcome.steps, done)
            if made is not None:
                produced[n] = made
        yield StrategyDone("dry-run", "dry_run", 1, _dry_summary(len(proposed), skipped), 0)


_CANNOT_CONFIRM = (
    "this plan is above the session's threshold for a human's confirmation "
    "(confirm_above_usd), and a strategy run cannot ask for one: lower the amount, "
    "or give the strategy a policy with a higher threshold"
)


def _dry_summary(simulated: int, skipped: int) -> str:
    """The dry run as a whole (each plan's own line says what it would have made)."""
    entries = f"{simulated} entr{'y' if simulated == 1 else 'ies'} simulated"
    if simulated > 1:
        entries += ", each on top of those before it"
    if skipped:
        entries += f", {skipped} skipped"
    return f"{entries}; nothing was sent"


def _previously(run: Run, *, fresh_session: bool) -> str:
    """``fresh_session``: the new run starts a new session of the file's policy, whose
    allowances start afresh (QA: a "500 USD a week" bot spent 600 in minutes over two runs)."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created_at))
    said = (
        f"this file ran to its end before (run {run.id} of {when}, {run.iteration} "
        f"iteration{'' if run.iteration == 1 else 's'}): this is a new run, from its first "
        "iteration"
    )
    if fresh_session:
        said += (
            ", under a new session of its policy: the policy's allowances start afresh, what "
            f"the last run spent does not count (name session {run.session_id} in the file to "
            "go on under its limits)"
        )
    return said


def _produced(steps: list[dict[str, Any]], done: RunDone) -> tuple[str, Decimal] | None:
    token = produced_token(steps[-1]) if steps else None
    if token is None or done.deltas.get(token, Decimal(0)) <= 0:
        return None
    return token, done.deltas[token]


class _Blocks:
    """The chain's latest block number, read while a run waits; when it has not changed for
    ``seconds``, a block is mined, as a chain that is not a devnet would have made one."""

    def __init__(self, service: AgentService, seconds: float) -> None:
        self.svc = service
        self.seconds = seconds
        self.seen: int | None = None
        self.since = time.monotonic()

    async def latest(self) -> int:
        block = await self.svc.block_number()
        if block != self.seen:
            self.seen, self.since = block, time.monotonic()
        elif time.monotonic() - self.since >= self.seconds:
            await self.svc.mine_block()
            self.since = time.monotonic()
        return block
