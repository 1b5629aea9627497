"""The core service every front end drives: text in, typed events out.

`propose` parses, resolves, simulates and asks the policy engine; `execute` signs and sends exactly
what was simulated and authorised, journals each transaction's hash before sending it, and checks
the wallet's real balance changes against the simulation; `resume` finishes an interrupted plan
without sending any transaction twice. Chain work runs in a thread so front ends stay responsive.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from agent import answers
from agent.errors import (
    BadInput,
    ChainUnavailable,
    DefiAgentError,
    IntentError,
    PolicyDenied,
    SimulationReverted,
    TransactionReverted,
)
from agent.events import (
    Event,
    PlanProposed,
    PolicyDecision,
    RunDone,
    RunFailed,
    SimulationDone,
    TxConfirmed,
    TxSent,
    fee_apart,
)
from agent.journal import Journal, TxRecord
from agent.preparer import Prepared, describe, prepare, step_event
from agent.processes import wallet_turn
from agent.remedies import recipients_hint, remedy
from agent.seams import Authorization, Authorizer, Planner, TxSigner
from agent.snapshot import Snapshot
from agent.verify import TOLERANCE_BPS, balances_of, net, verify, worse
from strategies.amounts import suggested
from tools.aave_v3.reads import reserves, usd_price
from tools.chain.contracts import Reverted
from tools.chain.plain import Node, clock, rpc
from tools.chain.running import advance_time, is_duration, parse_duration
from tools.portfolio import read_portfolio
from tools.protocol import ChainContext
from tools.simulator import Simulator, StepResult
from tools.tx import Call
from tools.uniswap_v3.adapter import PriceImpactTooHigh

_QUESTION = re.compile(r".*\?$|(?:what|how|which|why|when|where|can i|do i|am i|is|are)\b")
"""Text asking rather than telling: a question, when no rule reads it as a request."""

PLAN_AGAIN = 'nothing was sent; plan it again to see the new outcome ("try again" in the chat)'
"""The hint of a plan that cannot be sent as it was simulated."""
GAS_HEADROOM = (13, 10)
"""Gas limit = simulated gas x 1.3 + 30,000: a transaction landing a second after its simulation
can cost more (a new Uniswap oracle observation, Aave interest accrual)."""
GAS_EXTRA = 30_000
STALE_AFTER_S = 60
"""A plan simulated this long ago in chain time is simulated again before it is sent, even with
no block mined since: a card answered 25 minutes later was sent past its swap's deadline (QA)."""


@dataclass
class _Ready:
    plan_id: str
    plan: dict[str, Any]
    ctx: ChainContext
    prepared: Prepared
    authorization: Authorization
    doubted: bool = False
    """A dry run since the simulation found it would fail now: simulated again before it is
    sent, whatever the chain did (QA: a balance set on the devnet moves no block)."""


class AgentService:
    def __init__(
        self,
        *,
        context: Callable[[], ChainContext],
        journal: Journal,
        planner: Planner,
        authorizer: Authorizer,
        signer: TxSigner,
        planners: Callable[[str | None], Planner] | None = None,
    ) -> None:
        self._context = context
        self._planners = planners
        self.journal = journal
        self.planner = planner
        self.authorizer = authorizer
        self.signer = signer
        self._ready: dict[str, _Ready] = {}
        self._w3: Node | None = None

    async def propose(
        self, text: str, plan: dict[str, Any] | None = None, after: Sequence[str] = ()
    ) -> AsyncIterator[Event]:
        """Plan, simulate and authorise ``text`` (or ``plan``, already typed, with ``text`` as its
        intent): PlanProposed, StepSimulated..., SimulationDone, PolicyDecision, or RunFailed at
        the first problem. With ``after``, the ids of proposed plans that will not be executed
        (a strategy's dry run): simulated on top of them and authorised as if they had been."""
        plan_id: str | None = None
        earlier = [self._ready[i] for i in after]
        try:
            if plan is None:
                plan = await asyncio.to_thread(self._plan, text)
            ctx = await asyncio.to_thread(self._context)
            plan_id = self.journal.new_plan(text, plan, ctx.book.chain_id, ctx.wallet)
            yield PlanProposed(plan_id, text, plan, plan.get("summary", ""))
            before = [r.prepared for r in earlier]
            prepared = await asyncio.to_thread(prepare, ctx, plan["steps"], before)
            events = [step_event(ctx, plan_id, p) for p in prepared.steps]
            for p, event in zip(prepared.steps, events, strict=True):
                status = "simulated" if p.result.ok else "failed"
                self.journal.record_calls(
                    plan_id, p.index, p.built.calls, p.result.deltas, status, p.result.fee_wei
                )
                yield event
            yield SimulationDone(plan_id, tuple(events), prepared.block)
            if not prepared.ok:
                failed = prepared.failure
                assert failed is not None and failed.result.failure is not None
                failure, described = failed.result.failure, describe(failed.step)
                instead = remedy(failed.step, failure.revert_reason)
                raise SimulationReverted(
                    f"step {failed.index} ({described}) would revert: "
                    f"{_unless_said(failure.call.label, described)}{failure.revert_reason}",
                    hint=_nothing_sent(instead),
                )
            authorized = [r.authorization for r in earlier]
            authorization = await asyncio.to_thread(self._authorize, prepared, authorized)
            decision = PolicyDecision(
                plan_id,
                authorization.allowed,
                authorization.verdicts,
                authorization.session,
                dict(authorization.remaining),
                authorization.needs_confirmation,
            )
            if not authorization.allowed:
                self.journal.set_plan_status(plan_id, "denied", session_id=authorization.session)
                yield decision
                reasons = "; ".join(v.message for v in decision.violations)
                denied = [v.rule for v in decision.violations]
                instead = authorization.instead or recipients_hint(plan["steps"], denied)
                raise PolicyDenied(
                    f"denied by policy: {reasons}",
                    hint=_nothing_sent(instead),
                )
            self.journal.set_plan_status(plan_id, "simulated", session_id=authorization.session)
            self._ready[plan_id] = _Ready(plan_id, plan, ctx, prepared, authorization)
            yield decision
        except DefiAgentError as error:
            if isinstance(error, PriceImpactTooHigh):
                error.hint = await asyncio.to_thread(self._impact_hint, error)
            if plan_id is not None:
                status = "denied" if isinstance(error, PolicyDenied) else "failed"
                self.journal.set_plan_status(plan_id, status, error=error.message)
            yield RunFailed(plan_id, error.code, error.one_line(), error.exit_code)

    def _plan(self, text: str) -> dict[str, Any]:
        """The plan for ``text``; a question not answered from the chain is told what is (QA:
        "how much usdc can i withdraw?" got "start each step with swap, buy, sell…")."""
        try:
            return self.planner.plan(text)
        except IntentError as error:
            said = " ".join(text.lower().split())
            if error.message.startswith("I don't understand") and _QUESTION.match(said):
                raise BadInput(
                    f"I cannot answer that from the chain; I answer questions about "
                    f"{answers.CAN_ANSWER}",
                    code="unsupported",
                    hint="to act, say what to do: swap, buy, sell, supply, withdraw, borrow, "
                    "repay, send, wrap or unwrap",
                ) from None
            raise

    def _impact_hint(self, error: PriceImpactTooHigh) -> str:
        """What to do about a swap that moves the price too much, within the session's limits:
        the amount its per-transaction cap and what is left of its USD allowances let through,
        when the swap is above them (QA: "allow 1% slippage" led to a denial by the cap; the
        amount that fit the cap was then above what was left of the day's), else its slippage
        limit (QA: "allow more slippage", when the policy allowed no more)."""
        status = self.authorizer.status()
        policy, tok = status.parsed or self.authorizer.policy(), error.token_in
        cap = policy.limits.max_usd_per_tx
        room = [(cap, f"the session's {cap:,} USD per transaction")]
        room += [
            (
                w.limit - w.used,
                f"the {w.limit - w.used:,.2f} USD left of the session's {w.limit:,} USD {w.label}",
            )
            for w in status.windows
            if w.token is None
        ]
        most_usd, limit = min(room, key=lambda r: r[0])
        ctx = self._context()
        price = usd_price(ctx.w3, ctx.book, tok)
        if price > 0 and tok.to_units(error.amount_in) * price > most_usd:
            fits = f"at most {suggested(most_usd / price):,f} {tok.symbol} fits {limit}"
            return f"swap a smaller amount: {fits}" if most_usd > 0 else f"nothing fits {limit}"
        most = policy.slippage.max_bps
        limit = f"{Decimal(most) / 100}%"
        if error.impact_bps > most:
            return f"swap a smaller amount: the session allows at most {limit} slippage"
        return (
            f'swap a smaller amount, or allow up to {limit} slippage: add "with {limit} slippage"'
        )

    def _authorize_again(self, ready: _Ready, results: Sequence[StepResult]) -> Authorization:
        """The policy's decision now, from the ledger as it stands, on the plan as simulated again
        (`results`); reserves nothing, and the plan keeps the decision it was shown with."""
        calls = [c for r in results for c in r.calls]
        health = [r.health_factor_after for r in results for _ in r.calls]
        return self.authorizer.authorize([c.call for c in calls], calls, health)

    def _authorize(self, prepared: Prepared, after: Sequence[Authorization]) -> Authorization:
        calls, simulated, health = [], [], []
        for p in prepared.steps:
            for c in p.result.calls:
                calls.append(c.call)
                simulated.append(c)
                health.append(p.result.health_factor_after)
        return self.authorizer.authorize(calls, simulated, health, after)

    def discard(
        self, plan_id: str, *, dry_run: bool = False, edited: bool = False
    ) -> RunDone | None:
        """Drop a proposed plan without sending anything (nothing was reserved for it); one
        ``edited`` leaves the conversation too, as its request is about to be said again."""
        done = self.outcome(plan_id, dry_run=dry_run)
        if done is not None:
            ready = self._ready.pop(plan_id)
            if edited:
                self.planner.forget(ready.plan)
            self.journal.set_plan_status(plan_id, done.status)
        return done

    async def dry_run(self, plan_id: str) -> RunDone | RunFailed | None:
        """An open plan simulated again at the chain's state and time now, nothing sent: what
        executing it now would do. The plan stays open (None: there is no such open plan)."""
        ready = self._ready.get(plan_id)
        if ready is None:
            return None
        try:
            block, now = await asyncio.to_thread(clock, ready.ctx.w3)
            results = await asyncio.to_thread(self._simulated_again, ready, block, now)
            again = await asyncio.to_thread(self._authorize_again, ready, results)
        except DefiAgentError as error:
            ready.doubted = True
            return RunFailed(plan_id, error.code, error.message, error.exit_code)
        if not again.allowed:  # QA: it said what the swap would do, and y was then denied
            reasons = "; ".join(v.message for v in again.verdicts if not v.allowed)
            instead = f"; {again.instead}" if again.instead else ""
            return RunFailed(
                plan_id, "policy_denied", f"denied by policy now: {reasons}{instead}", 3
            )
        total = net(r.deltas for r in results)
        deltas = {s: _units(ready.ctx, s, raw) for s, raw in total.items() if raw}
        self.journal.event(plan_id, "dry_run", {"block": block, "deltas": total})
        return RunDone(plan_id, "dry_run", deltas)

    def outcome(self, plan_id: str, *, dry_run: bool = True) -> RunDone | None:
        """What discarding a proposed plan reports (its simulated balance changes), keeping it."""
        ready = self._ready.get(plan_id)
        if ready is None:
            return None
        total = net(step.result.deltas for step in ready.prepared.steps)
        deltas = {s: _units(ready.ctx, s, raw) for s, raw in total.items() if raw}
        return RunDone(plan_id, "dry_run" if dry_run else "discarded", deltas)

    async def execute(self, plan_id: str, *, human_confirmed: bool) -> AsyncIterator[Event]:
        """Send a proposed plan: TxSent / TxConfirmed per transaction, then RunDone or RunFailed."""
        ready = self._ready.pop(plan_id, None)
        if ready is None:
            yield RunFailed(plan_id, "unknown_plan", f"no proposed plan {plan_id} to execute", 2)
            return
        if ready.authorization.needs_confirmation and not human_confirmed:
            self.journal.set_plan_status(plan_id, "denied", error="needs a human's confirmation")
            yield RunFailed(
                plan_id,
                "needs_confirmation",
                "this plan is above the session's threshold for a human's confirmation; "
                "only a person can confirm it: in `defi-agent chat`, or with `defi-agent do` "
                "run on a terminal without --yes (it asks); headless runs refuse it",
                3,
            )
            return
        calls = [
            (p.index, i, c) for p in ready.prepared.steps for i, c in enumerate(p.result.calls)
        ]
        sending = self._send(
            ready.ctx,
            plan_id,
            calls,
            ready.authorization,
            ready.prepared,
            check=lambda: self._still_as_simulated(ready),
        )
        async for event in self._held(plan_id, sending):
            yield event

    def _still_as_simulated(self, ready: _Ready) -> list[Decimal | None] | None:
        """When blocks were mined since the simulation, or `STALE_AFTER_S` of chain time passed
        (a swap's deadline, interest), the plan simulated again (`_simulated_again`); then the
        health factor after each call, as the new simulation has it, for the policy's floor
        (None: the chain did not move)."""
        block, now = clock(ready.ctx.w3)
        then = ready.prepared
        if not ready.doubted and block == then.block and _waited(then, now) < STALE_AFTER_S:
            return None
        results = self._simulated_again(ready, block, now)
        return [r.health_factor_after for r in results for _ in r.calls]

    def _simulated_again(self, ready: _Ready, block: int, now: int) -> list[StepResult]:
        """The plan's transactions simulated again at the chain's state and time now; refused
        (`SimulationReverted`) if a step would now revert or leave the wallet worse off than
        shown by more than the plan's slippage bound."""
        then = ready.prepared
        ctx = replace(ready.ctx, now=now)
        steps = [tuple(c.call for c in p.result.calls) for p in then.steps]
        results = Simulator(ctx).simulate(steps)
        moved = _moved(then.block, block, _waited(then, now))
        for p, result in zip(then.steps, results, strict=True):
            if result.failure is not None:
                raise SimulationReverted(
                    f"{moved} and step {p.index} would now revert: "
                    f"{result.failure.call.label}: {result.failure.revert_reason}",
                    hint=PLAN_AGAIN,
                )
        bound = max((int(p.step.get("max_slippage_bps", 0)) for p in then.steps), default=0)
        fees = sum(r.fee_wei for r in results)
        first = [p.result.deltas for p in then.steps]
        problems = worse(ctx, first, [r.deltas for r in results], bound or TOLERANCE_BPS, fees)
        if problems:
            raise SimulationReverted(
                f"{moved} and the outcome is now worse than shown: {'; '.join(problems)}",
                code="simulation_changed",
                hint=PLAN_AGAIN,
            )
        return results

    async def _held(self, plan_id: str, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
        """``events`` of executing ``plan_id``, with this process recorded as executing it; a
        plan another live process executes is refused, as is sending it twice at once. Plans
        from one wallet execute one at a time, across processes (`wallet_turn`): interleaved,
        they took the same nonces, and one plan's exact approval overwrote another's."""
        try:
            self.journal.hold(plan_id)
        except DefiAgentError as error:
            yield RunFailed(plan_id, error.code, error.one_line(), error.exit_code)
            return
        try:
            async with wallet_turn(self.signer.address, self.signer.chain_id):
                async for event in events:
                    yield event
        finally:
            self.journal.release(plan_id)

    async def _send(
        self,
        ctx: ChainContext,
        plan_id: str,
        calls: list[tuple[int, int, Any]],
        authorization: Authorization,
        prepared: Prepared | None,
        check: Callable[[], list[Decimal | None] | None] | None = None,
        moved_before: Mapping[str, int] | None = None,
    ) -> AsyncIterator[Event]:
        """Sign and send ``calls`` in order. First, in one worker hop: ``check``, the balance
        reads, the policy's grant (decided again, spend reserved) and the grants journaled; a
        `DefiAgentError` from any of them stops everything before anything is sent or reserved.
        The hop finishes even when the caller is cancelled meanwhile (the chat quit): what it
        reserved is then in the journal, for `resume` to send or release. The caller holds the
        plan (`_held`). ``moved_before``, of a resumed plan, is how its transactions confirmed
        before changed the wallet (`_moved_by`): the outcome reported is the whole plan's."""
        touched = {s for _, _, sim in calls for s in getattr(sim, "balance_deltas", {})}
        touched |= set(moved_before or ())
        symbols = tuple(s for s in ctx.book.symbols if s in touched) or ctx.book.symbols

        def first() -> tuple[dict[str, int], tuple[Any, ...]]:
            """Where the plan's outcome is counted from (its balances before, less what its part
            confirmed before a resume moved), and the grants."""
            health = check() if check is not None else None
            before = balances_of(ctx, symbols)
            if moved_before is None:
                self.journal.event(plan_id, "balances", before)
                start = before
            else:
                start = {s: raw - moved_before.get(s, 0) for s, raw in before.items()}
            granted = self.authorizer.grant(authorization, health)
            self.journal.authorise(
                plan_id, [(step, i, g) for (step, i, _), g in zip(calls, granted, strict=True)]
            )
            self.journal.set_plan_status(plan_id, "executing")
            return start, granted

        try:
            start, granted = await asyncio.to_thread(first)
        except DefiAgentError as error:
            status = "denied" if isinstance(error, PolicyDenied) else "failed"
            self.journal.set_plan_status(plan_id, status, error=error.message)
            yield RunFailed(plan_id, error.code, error.one_line(), error.exit_code)
            return
        grants = list(granted)
        fees = 0
        for n, (step, idx, simulated) in enumerate(calls):
            call: Call = simulated.call
            grant = grants[n]
            signed = None
            try:
                gas = simulated.gas_used * GAS_HEADROOM[0] // GAS_HEADROOM[1] + GAS_EXTRA
                signed = await asyncio.to_thread(self.signer.sign, call, gas, grant)
                self.journal.set_tx(
                    plan_id, step, idx, "signed", tx_hash=signed.tx_hash, nonce=signed.nonce
                )
                yield TxSent(plan_id, step, idx, call.label, signed.tx_hash)
                receipt = await asyncio.to_thread(self.signer.send, signed)
            except ChainUnavailable as error:
                for later in grants[n + 1 :]:
                    self.authorizer.settle(later, spent=False)
                self.journal.set_plan_status(plan_id, "failed", error=error.message)
                yield RunFailed(
                    plan_id,
                    error.code,
                    f"{error.message}; resume with `defi-agent resume {plan_id}`",
                    error.exit_code,
                )
                return
            except DefiAgentError as error:
                if signed is not None:  # QA: the card said "sent" and the node had refused it
                    error = TransactionReverted(
                        f"step {step}: the node refused the transaction {signed.tx_hash[:12]}… "
                        f"({call.label}): {error.message}",
                        code="transaction_refused",
                        hint="it was not broadcast; later steps were not sent",
                    )
                for later in grants[n:]:
                    self.authorizer.settle(later, spent=False)
                self.journal.set_tx(plan_id, step, idx, "failed", error=error.message)
                self.journal.set_plan_status(plan_id, "failed", error=error.message)
                yield RunFailed(plan_id, error.code, error.one_line(), error.exit_code)
                return
            ok = int(receipt["status"]) == 1
            gas_used = int(receipt["gasUsed"])
            fees += gas_used * int(receipt.get("effectiveGasPrice", 0))
            self.authorizer.settle(grant, spent=ok)
            self.journal.set_tx(
                plan_id, step, idx, "confirmed" if ok else "failed", gas_used=gas_used
            )
            yield TxConfirmed(plan_id, step, idx, signed.tx_hash, gas_used, ok)
            if not ok:
                reason = await asyncio.to_thread(self._revert_reason, ctx, call)
                for later in grants[n + 1 :]:
                    self.authorizer.settle(later, spent=False)
                error = TransactionReverted(
                    f"step {step}: {call.label} reverted on chain: {reason}",
                    hint="later steps were not sent",
                )
                self.journal.set_plan_status(plan_id, "failed", error=error.message)
                yield RunFailed(plan_id, error.code, error.one_line(), error.exit_code)
                return
        actual = await asyncio.to_thread(_moved_since, ctx, start)
        mismatches = (
            verify(ctx, [p.result.deltas for p in prepared.steps], actual, fees)
            if prepared is not None
            else ()
        )
        self.journal.set_plan_status(plan_id, "done", error="; ".join(mismatches) or None)
        self.journal.event(plan_id, "verified", {"actual": actual, "mismatches": list(mismatches)})
        yield RunDone(
            plan_id, "done", {s: _units(ctx, s, v) for s, v in actual.items()}, mismatches
        )

    def simulated_moves(self, plan_id: str) -> dict[int, dict[str, Decimal]]:
        """What each step of ``plan_id`` moves, the network fee apart, as the journal kept its
        simulation: for what a resumed plan did on Aave, which its wallet's changes do not say."""
        ctx = self._context()
        moves: dict[int, dict[str, Decimal]] = {}
        for tx in self.journal.txs(plan_id):
            if tx.step not in moves:
                deltas = {s: _units(ctx, s, v) for s, v in tx.step_deltas.items()}
                moves[tx.step] = fee_apart(deltas, _units(ctx, "ETH", tx.step_fee_wei))
        return moves

    def started(self, plan_id: str) -> bool:
        """Whether anything of the plan was authorised to be sent, or sent: only then is there
        something to resume."""
        return _started(self.journal.txs(plan_id))

    async def resume(self, plan_id: str) -> AsyncIterator[Event]:
        """Finish an interrupted plan: transactions with a recorded hash are looked up, never sent
        again; the rest are simulated and authorised afresh, then sent."""
        async for event in self._held(plan_id, self._resume(plan_id)):
            yield event

    async def _resume(self, plan_id: str) -> AsyncIterator[Event]:
        record = self.journal.plan(plan_id)
        if record is None:
            yield RunFailed(plan_id, "unknown_plan", f"the journal has no plan {plan_id}", 2)
            return
        if record.status == "done":
            yield RunDone(plan_id, "done", {})
            return
        txs = self.journal.txs(plan_id)
        if not _started(txs):
            yield RunFailed(
                plan_id,
                "not_started",
                f"plan {plan_id} was never executed ({record.status}): there is nothing to "
                "resume (propose it again to execute it)",
                2,
            )
            return
        try:
            ctx = await asyncio.to_thread(self._context)
            for unsent in txs:  # authorised afresh below, if the rest can be sent at all
                if unsent.tx_hash is None and unsent.authorization is not None:
                    self.authorizer.settle(unsent.authorization, spent=False)
            pending, done, last_block = [], [], 0
            for tx in txs:
                if tx.status == "confirmed":
                    done.append((tx.call, tx.step_deltas, _session_of(tx)))
                    if tx.tx_hash is None:
                        continue
                    found = await asyncio.to_thread(self.signer.receipt, tx.tx_hash)
                    if not found:
                        for gone in txs:  # on the chain that had them; nothing is spent here
                            if gone.authorization is not None:
                                self.authorizer.settle(gone.authorization, spent=False)
                        raise BadInput(
                            f"step {tx.step}: {tx.call.label} was confirmed as {tx.tx_hash}, "
                            "which this chain does not have (it started over since)",
                            code="plan_gone",
                            hint="the plan cannot be resumed on this chain; propose it again",
                        )
                    last_block = max(last_block, found["blockNumber"])
                    continue
                if tx.tx_hash is not None:
                    receipt = await asyncio.to_thread(self.signer.receipt, tx.tx_hash)
                    if receipt is not None:
                        ok = int(receipt["status"]) == 1
                        if tx.authorization is not None:
                            self.authorizer.settle(tx.authorization, spent=ok)
                        self.journal.set_tx(
                            plan_id,
                            tx.step,
                            tx.idx,
                            "confirmed" if ok else "failed",
                            gas_used=int(receipt["gasUsed"]),
                        )
                        yield TxConfirmed(
                            plan_id, tx.step, tx.idx, tx.tx_hash, int(receipt["gasUsed"]), ok
                        )
                        if ok:
                            done.append((tx.call, tx.step_deltas, _session_of(tx)))
                            last_block = max(last_block, receipt["blockNumber"])
                            continue
                        raise TransactionReverted(
                            f"step {tx.step}: {tx.call.label} reverted on chain",
                            hint="the plan cannot be resumed",
                        )
                    if await asyncio.to_thread(self.signer.waiting, tx.tx_hash):
                        raise ChainUnavailable(
                            f"step {tx.step}: {tx.call.label} ({tx.tx_hash}) was sent and is "
                            "not mined yet",
                            hint=f"`defi-agent resume {plan_id}` again once the chain mines it",
                        )
                    if tx.authorization is not None:  # signed, never sent: nothing was spent
                        self.authorizer.settle(tx.authorization, spent=False)
                pending.append(tx)
            moved_before = await asyncio.to_thread(self._moved_by, ctx, plan_id, last_block)
            if not pending:
                self.journal.set_plan_status(plan_id, "done")
                moved = {s: v for s, v in moved_before.items() if v}
                yield RunDone(plan_id, "done", {s: _units(ctx, s, v) for s, v in moved.items()})
                return
            steps = [
                tuple(t.call for t in pending if t.step == s)
                for s in sorted({t.step for t in pending})
            ]
            results = await asyncio.to_thread(Simulator(ctx).simulate, steps)
            for result in results:
                if not result.ok:
                    failure = result.failure
                    assert failure is not None
                    raise SimulationReverted(
                        f"resuming would revert: {failure.call.label}: {failure.revert_reason}",
                        hint="nothing was sent",
                    )
            simulated = [c for r in results for c in r.calls]
            health = [r.health_factor_after for r in results for _ in r.calls]
            owner = next((_session_of(t) for t in txs if t.authorization is not None), None)
            authorization = await asyncio.to_thread(
                self.authorizer.authorize,
                [c.call for c in simulated],
                simulated,
                health,
                (),
                done,
                owner,
            )
            if not authorization.allowed:
                reasons = "; ".join(v.message for v in authorization.verdicts if not v.allowed)
                raise PolicyDenied(f"denied by policy: {reasons}", hint="nothing was sent")
            if authorization.needs_confirmation:
                raise PolicyDenied(
                    "the rest of this plan is above the session's threshold for a human's "
                    "confirmation, and resume runs headless",
                    code="needs_confirmation",
                    hint="nothing was sent; propose the rest again in `defi-agent chat` to confirm it",
                )
        except DefiAgentError as error:
            self.journal.set_plan_status(plan_id, "failed", error=error.message)
            yield RunFailed(plan_id, error.code, error.one_line(), error.exit_code)
            return
        calls = [(t.step, t.idx, c) for t, c in zip(pending, simulated, strict=True)]
        async for event in self._send(
            ctx, plan_id, calls, authorization, None, moved_before=moved_before
        ):
            yield event

    def _moved_by(self, ctx: ChainContext, plan_id: str, block: int) -> dict[str, int]:
        """How the transactions of ``plan_id`` confirmed before a resume, the last of them in
        ``block``, changed the wallet: its balances after that block, against those it began
        with. Not its balances now: another plan run since is not this plan's outcome (a
        strategy's "output:N" spends it). A chain restarted since keeps no such history: then
        it is counted up to now."""
        began = self.journal.balances_before(plan_id) or {}
        if not block:
            return dict.fromkeys(began, 0)
        try:
            after = balances_of(ctx, began, block)
        except (DefiAgentError, Reverted):
            after = balances_of(ctx, began)
        return {s: after[s] - raw for s, raw in began.items()}

    async def snapshot(self, *, gas: bool = False) -> Snapshot:
        """The wallet, Aave, the session and the chain, read together for a UI's sidebar; with
        ``gas``, the gas price too."""

        def read() -> Snapshot:
            ctx = self._context()
            return Snapshot(
                read_portfolio(ctx.w3, ctx.book, ctx.wallet),
                reserves(ctx.w3, ctx.book),
                self.authorizer.status(),
                ctx.book.profile,
                int(rpc(ctx.w3, "eth_gasPrice"), 16) if gas else None,
            )

        return await asyncio.to_thread(read)

    async def command(self, name: str, args: tuple[str, ...]) -> str:
        """A slash command of the chat, answered in Markdown."""
        if name == "/portfolio":
            return answers.portfolio(await self.snapshot())
        if name == "/journal":
            rows = [f"- `{p.id}` **{p.status}** {p.described}" for p in self.journal.plans(10)]
            return "\n".join(rows) or "The journal is empty."
        if name == "/warp":
            if not args:
                return "Usage: /warp DURATION, e.g. /warp 30d (moves the devnet's clock forward)."
            seconds = parse_duration(args[0])
            when = await asyncio.to_thread(advance_time, self._context().w3, seconds)
            local = time.strftime("%Y-%m-%d %H:%M", time.localtime(when))
            moved = f"Moved the chain's clock forward by {args[0]}; chain time is now {local}."
            status = await asyncio.to_thread(self.authorizer.status)
            if status.state == "expired":  # QA: said only by the sidebar, then by a denial
                moved += (
                    f" Session **{status.name}** has expired on the chain's clock: nothing is "
                    "signed until you start a new one (`/session new`)."
                )
            return moved
        if name == "/model":
            if self._planners is None or not args:
                return "Usage: /model offline, or /model provider:name (e.g. openai:gpt-4o-mini)."
            spec = None if args[0] == "offline" else args[0]
            self.planner = await asyncio.to_thread(self._planners, spec)
            return f"Now parsing with {'the offline rule parser' if spec is None else spec}."
        if name == "/session":
            if args and args[0] == "revoke":
                revoked = await asyncio.to_thread(self.authorizer.revoke)
                return (
                    f"Revoked session {revoked.id}: nothing more is signed until you start a new "
                    "one (`/session new [POLICY] [TTL]`)."
                )
            if args and args[0] == "new":
                policy, ttl = _session_args(args[1:])
                status = await asyncio.to_thread(self.authorizer.new_session, policy, ttl)
            elif args:
                raise BadInput(
                    f"unknown /session command {args[0]!r}",
                    hint="/session, /session new [POLICY] [TTL] or /session revoke",
                )
            else:
                status = await asyncio.to_thread(self.authorizer.status)
            return answers.session(status)
        raise BadInput(f"unknown command {name}")

    def chain_context(self) -> ChainContext:
        """The chain, address book and wallet the service works on (read fresh: time moves)."""
        return self._context()

    def _node(self) -> Node:
        """The chain's node, kept from the first call (block polls need no fresh context)."""
        if self._w3 is None:
            self._w3 = self._context().w3
        return self._w3

    async def block_number(self) -> int:
        w3 = self._node()
        return await asyncio.to_thread(lambda: int(rpc(w3, "eth_blockNumber"), 16))

    async def chain_time(self) -> int:
        """Chain time: when the next block will be mined (`chain warp` moves it forward)."""
        return await asyncio.to_thread(lambda: self._context().now)

    async def mine_block(self) -> None:
        """An empty block, at the chain's time now (anvil, local or fork, mines only when a
        transaction comes)."""
        await asyncio.to_thread(rpc, self._node(), "evm_mine")

    async def answer(self, text: str) -> str | None:
        """An answer from chain data when ``text`` is a question about the wallet, else None."""
        if not answers.looks_like_question(text):
            return None
        return answers.answer(text, await self.snapshot(gas=answers.asks_gas(text)))

    def _revert_reason(self, ctx: ChainContext, call: Call) -> str:
        """Why ``call`` reverted, replayed at the chain's time now (at the simulation's, a swap
        mined past its deadline "succeeds when replayed now")."""
        (result,) = Simulator(replace(ctx, now=clock(ctx.w3)[1])).simulate([(call,)])
        failure = result.failure
        return failure.revert_reason or "unknown" if failure else "it succeeds when replayed now"


def _moved_since(ctx: ChainContext, start: Mapping[str, int]) -> dict[str, int]:
    """How the wallet's balances of the tokens in ``start`` changed since it was read: of a
    resumed plan, the whole plan's change, not only the rest's (what a strategy's "output:N"
    uses)."""
    after = balances_of(ctx, start)
    return {s: after[s] - start[s] for s in start if after[s] != start[s]}


def _started(txs: Sequence[TxRecord]) -> bool:
    return any(t.authorization is not None or t.tx_hash is not None for t in txs)


def _session_args(args: tuple[str, ...]) -> tuple[str | None, str | None]:
    """`/session new [POLICY] [TTL]`'s policy and TTL, in either order: a duration is the TTL
    (`/session new 12h` was read as a policy named "12h")."""
    ttls = [a for a in args if is_duration(a)]
    policies = [a for a in args if not is_duration(a)]
    if len(args) > 2 or len(ttls) > 1 or len(policies) > 1:
        raise BadInput(
            f"/session new takes a policy and a TTL, got {' '.join(args)!r}",
            hint="e.g. /session new dca-bot 12h",
        )
    return (policies[0] if policies else None), (ttls[0] if ttls else None)


def _session_of(tx: TxRecord) -> str:
    """The session that authorised ``tx`` ("" when none did)."""
    return str(tx.authorization["session"]) if tx.authorization else ""


def _units(ctx: ChainContext, symbol: str, raw: int) -> Decimal:
    from tools.erc20.reads import token

    return token(ctx.w3, ctx.book, symbol).to_units(raw)


def _waited(prepared: Prepared, now: int) -> int:
    """Chain seconds since ``prepared`` was simulated (0: its time is not known)."""
    return now - prepared.time if prepared.time else 0


def _moved(then: int, block: int, waited: int) -> str:
    """How the chain moved since a simulation: "... (block 4 -> 6, 25 min later)"."""
    parts = [f"block {then} -> {block}"] if block != then else []
    if waited >= 60:
        parts.append(f"{waited // 60} min later")
    return f"the chain moved since the simulation ({', '.join(parts) or f'{waited} s later'})"


def _nothing_sent(instead: str | None) -> str:
    """The hint of a plan stopped before signing: nothing was sent, and what to ask instead."""
    return "nothing was sent" + (f"; {instead}" if instead else "")


def _unless_said(label: str, described: str) -> str:
    """A failing call's label before its revert reason, unless it is the step's description
    again (QA: "step 1 (borrow 500 USDC ...) would revert: borrow 500 USDC ...: Aave: ...")."""
    same = label.replace(",", "").lower() == described.replace(",", "").lower()
    return "" if same else f"{label}: "
