"""The typed, frozen events the core service yields; every front end renders these and nothing else.

Amounts are Decimal in token units; ``deltas`` map token symbols to the wallet's balance change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class PlanProposed:
    plan_id: str
    intent: str
    plan: dict[str, Any]
    """The plan in DESIGN.md's JSON form."""
    summary: str


@dataclass(frozen=True)
class CallPreview:
    label: str
    to: str
    value: int
    gas: int
    ok: bool
    revert_reason: str | None = None


@dataclass(frozen=True)
class StepSimulated:
    plan_id: str
    step: int
    """1-based, as in the plan."""
    description: str
    calls: tuple[CallPreview, ...]
    deltas: dict[str, Decimal]
    gas: int
    fee_eth: Decimal
    health_factor_after: Decimal | None
    events: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.calls)

    @property
    def moved(self) -> dict[str, Decimal]:
        """What the step's calls move, the network fee apart: ``deltas`` are the wallet's
        changes, its ETH net of the fee (QA: a swap's ETH received, net of it, read as less than
        the swap's "at least" bound)."""
        return fee_apart(self.deltas, self.fee_eth)


def fee_apart(deltas: Mapping[str, Decimal], fee_eth: Decimal) -> dict[str, Decimal]:
    """A step's wallet changes ``deltas`` without the network fee ``fee_eth`` in their ETH."""
    eth = deltas.get("ETH", Decimal(0)) + fee_eth
    moved = {s: v for s, v in deltas.items() if s != "ETH"}
    return {"ETH": eth, **moved} if eth else moved


@dataclass(frozen=True)
class SimulationDone:
    plan_id: str
    steps: tuple[StepSimulated, ...]
    block: int

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def deltas(self) -> dict[str, Decimal]:
        total: dict[str, Decimal] = {}
        for step in self.steps:
            for symbol, amount in step.deltas.items():
                total[symbol] = total.get(symbol, Decimal(0)) + amount
        return {s: a for s, a in total.items() if a}


@dataclass(frozen=True)
class Verdict:
    rule: str
    allowed: bool
    message: str


@dataclass(frozen=True)
class PolicyDecision:
    plan_id: str
    allowed: bool
    verdicts: tuple[Verdict, ...]
    session: str
    remaining: dict[str, str] = field(default_factory=dict)
    needs_confirmation: bool = False

    @property
    def violations(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if not v.allowed)


@dataclass(frozen=True)
class TxSent:
    """Signed, its hash in the journal, and about to be broadcast: a process killed right after
    may have sent nothing (the journal says `signed`; `resume` finishes it)."""

    plan_id: str
    step: int
    index: int
    label: str
    tx_hash: str


@dataclass(frozen=True)
class TxConfirmed:
    plan_id: str
    step: int
    index: int
    tx_hash: str
    gas_used: int
    success: bool


@dataclass(frozen=True)
class RunDone:
    plan_id: str
    status: str
    """``done``, or ``dry_run`` when nothing was sent."""
    deltas: dict[str, Decimal]
    """Measured on chain after execution; the simulated ones for a dry run."""
    mismatches: tuple[str, ...] = ()
    """Tokens whose real change differs from the simulation beyond the tolerance, in words."""


@dataclass(frozen=True)
class RunFailed:
    plan_id: str | None
    code: str
    message: str
    exit_code: int


@dataclass(frozen=True)
class Answered:
    """A question about the wallet ("what's my health factor?"), answered from the chain."""

    text: str
    """Markdown."""


Event = (
    Answered
    | PlanProposed
    | StepSimulated
    | SimulationDone
    | PolicyDecision
    | TxSent
    | TxConfirmed
    | RunDone
    | RunFailed
)
