"""Prepare a plan for execution: resolve each step, build its calls, simulate it after the steps
before it. A step whose simulation reverts stops the plan there: nothing after it is built."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from agent.events import CallPreview, StepSimulated
from agent.intents.summary import describe as summary_words
from agent.resolver import Resolver
from tools.actions import Action
from tools.adapters import adapter_for
from tools.chain.plain import AtBlock, rpc
from tools.erc20.reads import token
from tools.protocol import Built, ChainContext
from tools.simulator import Simulator, StepResult


@dataclass(frozen=True)
class PreparedStep:
    index: int
    """1-based, as in the plan."""
    step: Mapping[str, Any]
    action: Action
    built: Built
    result: StepResult


@dataclass(frozen=True)
class Prepared:
    steps: tuple[PreparedStep, ...]
    total_steps: int
    block: int
    time: int
    """Chain time of the simulation: when the next block was to be mined (0: not known)."""

    @property
    def ok(self) -> bool:
        return len(self.steps) == self.total_steps and all(s.result.ok for s in self.steps)

    @property
    def failure(self) -> PreparedStep | None:
        return next((s for s in self.steps if not s.result.ok), None)


def prepare(
    ctx: ChainContext, steps: Sequence[Mapping[str, Any]], after: Sequence[Prepared] = ()
) -> Prepared:
    """Resolve, build and simulate ``steps`` (DESIGN.md's plan steps) in order, every read at
    the block the preparation began at (`AtBlock`); with ``after``, on top of those plans, never
    sent, as if they had been (a strategy's dry run)."""
    block = int(rpc(ctx.w3, "eth_blockNumber"), 16)
    ctx = replace(ctx, w3=AtBlock(ctx.w3, block))
    earlier = [p for plan in after for p in plan.steps]
    resolver = Resolver(ctx, [p.result.deltas for p in earlier])
    simulator = Simulator(ctx)
    prepared: list[PreparedStep] = []
    for index, step in enumerate(steps, start=1):
        action = resolver.resolve(step, [p.result.deltas for p in prepared])
        built = adapter_for(action).build(ctx, action)
        results = simulator.simulate([p.built.calls for p in (*earlier, *prepared)] + [built.calls])
        prepared.append(PreparedStep(index, step, action, built, results[-1]))
        if not results[-1].ok:
            break
    return Prepared(tuple(prepared), len(steps), block, ctx.now)


def describe(step: Mapping[str, Any]) -> str:
    """One line in words for a plan step."""
    return summary_words(dict(step))


def step_event(ctx: ChainContext, plan_id: str, p: PreparedStep) -> StepSimulated:
    calls = tuple(
        CallPreview(c.call.label, c.call.to, c.call.value, c.gas_used, c.success, c.revert_reason)
        for c in p.result.calls
    )
    deltas = {s: token(ctx.w3, ctx.book, s).to_units(v) for s, v in p.result.deltas.items()}
    return StepSimulated(
        plan_id=plan_id,
        step=p.index,
        description=describe(p.step),
        calls=calls,
        deltas=deltas,
        gas=p.result.gas_used,
        fee_eth=Decimal(p.result.fee_wei).scaleb(-18),
        health_factor_after=p.result.health_factor_after,
        events=p.result.events,
    )
