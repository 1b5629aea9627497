"""A plan card: what the agent understood, what the simulation says will happen, what the policy
decided, and then what actually happened. It only displays events; the app owns the keys, which
it reads from the card before its bindings see them (`KeyReader`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol, cast

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events
from textual.widgets import Static

from agent.events import (
    CallPreview,
    PlanProposed,
    PolicyDecision,
    RunDone,
    RunFailed,
    SimulationDone,
    TxConfirmed,
    TxSent,
)
from agent.tui.format import amount, health_factor, on_aave, signed


class KeyReader(Protocol):
    async def card_key(self, card: PlanCard, event: events.Key) -> None:
        """A key pressed on a card: stopped there when it is the app's."""

    def card_paste(self, card: PlanCard, event: events.Paste) -> None:
        """Text pasted on a card: the prompt's."""


class PlanCard(Static, can_focus=True):
    DEFAULT_CSS = """
    PlanCard { border: round $primary; padding: 0 1; margin: 1 0 0 0; height: auto; }
    PlanCard:focus { border: round $accent; }
    PlanCard.denied { border: round $error; }
    PlanCard.done { border: round $success; }
    """

    def __init__(self, proposed: PlanProposed, simulation: SimulationDone | None = None) -> None:
        super().__init__()
        self.proposed = proposed
        self.simulation = simulation
        self.decision: PolicyDecision | None = None
        self.progress: list[str] = []
        self.outcome: str = ""
        self.rehearsal: str = ""
        """What the last dry run found (kept once the plan is answered: QA, it vanished)."""
        self.rehearsals = 0
        self.border_title = f"plan {proposed.plan_id}"

    def on_mount(self) -> None:
        self.refresh_card()

    @property
    def plan_id(self) -> str:
        return self.proposed.plan_id

    async def on_key(self, event: events.Key) -> None:
        await cast(KeyReader, self.app).card_key(self, event)

    def on_paste(self, event: events.Paste) -> None:
        cast(KeyReader, self.app).card_paste(self, event)

    def show_simulation(self, simulation: SimulationDone) -> None:
        self.simulation = simulation
        self.refresh_card()

    def show_decision(self, decision: PolicyDecision) -> None:
        self.decision = decision
        if not decision.allowed:
            self.add_class("denied")
        self.refresh_card()

    def show_tx(self, event: TxSent | TxConfirmed) -> None:
        if isinstance(event, TxSent):
            self.progress.append(
                f"step {event.step}.{event.index + 1} sent {event.tx_hash[:12]}… {event.label}"
            )
        else:
            verdict = "confirmed" if event.success else "REVERTED"
            self.progress.append(
                f"step {event.step}.{event.index + 1} {verdict}, gas {event.gas_used:,}"
            )
        self.refresh_card()

    def show_outcome(self, event: RunDone | RunFailed, *, edited: bool = False) -> None:
        """``edited``: discarded, its request put back in the prompt (QA: "Discarded" read as if
        it were gone)."""
        if isinstance(event, RunDone):
            changes = (
                "nothing sent"
                if event.status == "discarded"
                else ", ".join(f"{signed(v)} {s}" for s, v in event.deltas.items())
                or "no balance change"
            )
            label = {
                "done": "Done, verified on chain",
                "discarded": "Back in the prompt to edit" if edited else "Discarded",
            }
            self.outcome = f"{label.get(event.status, event.status)}: {changes}"
            if event.status == "done":
                self.outcome += on_aave(self.proposed.plan, self.simulation)
            if event.mismatches:
                self.outcome += "\nDiffers from the simulation: " + "; ".join(event.mismatches)
            self.set_class(event.status == "done", "done")
        else:
            self.outcome = f"Failed ({event.code}): {event.message}"
            self.add_class("denied")
        self.refresh_card()

    def show_rehearsal(self, event: RunDone | RunFailed) -> None:
        """Numbered, so that a second dry run with the same outcome is seen to have run (QA)."""
        self.rehearsals += 1
        said = f"Dry run {self.rehearsals} on the chain as it is now, nothing sent"
        if isinstance(event, RunDone):
            changes = ", ".join(f"{signed(v)} {s}" for s, v in event.deltas.items())
            moved = (
                f"{changes or 'no balance change'}{on_aave(self.proposed.plan, self.simulation)}"
            )
            self.rehearsal = f"{said}; the policy allows it now: {moved}"  # QA: it said neither
        else:
            self.rehearsal = f"{said}: it would not go through ({event.code}): {event.message}"
        self.refresh_card()

    def refresh_card(self) -> None:
        parts: list[object] = [Text(self.proposed.summary or self.proposed.intent, style="bold")]
        steps = Table(box=None, show_header=True, header_style="dim", expand=True)
        steps.add_column("#", no_wrap=True)
        steps.add_column("step", overflow="fold", ratio=1)
        for column in ("changes", "gas", "HF after"):  # a number folded is a number misread
            steps.add_column(column, no_wrap=True)
        simulated = {s.step: s for s in self.simulation.steps} if self.simulation else {}
        waiting = "…" if self.outcome == "" else "–"
        bounds: list[Text] = []
        for index, step in enumerate(self.proposed.plan.get("steps", []), start=1):
            sim = simulated.get(index)
            if sim and (bound := _bound(step, sim.calls)):
                bounds.append(Text(f"step {index}: {bound}", style="dim"))
            changes = (
                "\n".join(f"{signed(v)} {s}" for s, v in sim.moved.items()) if sim else waiting
            )
            if sim and not sim.ok:  # the reason below the table: in it, it squeezed the steps
                failing = next(c for c in sim.calls if not c.ok)  # out of sight (QA)
                changes = "[red]reverts[/red]"
                bounds.append(Text(f"step {index} reverts: {failing.revert_reason}", style="red"))
            hf = health_factor(sim.health_factor_after) if sim and sim.health_factor_after else "–"
            steps.add_row(
                str(index), _step_words(step), changes, f"{sim.gas:,}" if sim else waiting, hf
            )
        parts.append(steps)
        parts.extend(bounds)
        if self.simulation is not None:
            fee = sum((s.fee_eth for s in self.simulation.steps), Decimal(0))
            parts.append(
                Text(
                    f"simulated at block {self.simulation.block}; network fee ≈ {amount(fee)} ETH",
                    style="dim",
                )
            )
        answerable = not self.outcome and not self.progress
        if self.decision is not None:
            parts.extend(_verdicts(self.decision))
        if self.rehearsal:
            parts.append(_commands(self.rehearsal, "bold" if answerable else "dim"))
        parts.extend(Text(line, style="dim") for line in self.progress)
        if self.outcome:
            parts.append(_commands(self.outcome, "bold"))
        if answerable and self.decision is not None and self.decision.allowed:
            parts.append(Text("y execute · d dry run · n discard · e edit", style="bold"))
        self.update(Group(*parts))


def _verdicts(decision: PolicyDecision) -> list[Text]:
    """Every violated rule in full; the passing ones in one line with what allowance is left."""
    lines = [Text(f"✗ {v.rule}: {v.message}", style="red") for v in decision.violations]
    if decision.allowed:
        left = next((v.message for v in decision.verdicts if v.rule == "spend.windows"), "")
        passed = len(decision.verdicts)
        lines.append(
            Text(
                f"✓ session {decision.session}: all {passed} policy rules pass; {left}",
                style="green",
            )
        )
        if decision.needs_confirmation:
            lines.append(
                Text("above the session's threshold: needs your confirmation", style="yellow")
            )
    return lines


def _bound(step: dict[str, object], calls: Sequence[CallPreview]) -> str | None:
    """What a swap receives at least (or pays at most), as its call was built: the slippage
    bound the user signs, shown before they do."""
    if step["action"] != "swap":
        return None
    label = next((c.label for c in calls if c.label.startswith(("swap ", "buy "))), None)
    if label is None:
        return None
    return f"{label.split(' via ')[0]} (slippage bound {step['max_slippage_bps']} bps)"


def _amount(step: dict[str, object], symbol: object) -> str:
    """The amount and token of a step: "1.5 ETH", "50% of ETH", "the USDC from step 1"."""
    amount = str(step["amount"])
    if amount.startswith("output:"):
        return f"the {symbol} from step {amount.split(':')[1]}"
    if amount == "max":
        return f"all {symbol}"
    if amount.endswith("%"):
        return f"{amount} of {symbol}"
    return f"{amount} {symbol}"


def _step_words(step: dict[str, object]) -> str:
    kind = step["action"]
    if kind == "swap":
        if step.get("amount_kind") == "exact_out":
            return f"buy {step['amount']} {step['token_out']} with {step['token_in']}"
        return f"swap {_amount(step, step['token_in'])} → {step['token_out']}"
    if kind == "transfer":
        return f"send {_amount(step, step['token'])} to {str(step['to'])[:10]}…"
    if kind in ("wrap", "unwrap"):
        return f"{kind} {_amount(step, 'ETH' if kind == 'wrap' else 'WETH')}"
    return f"{kind} {_amount(step, step['token'])} (Aave)"


def _commands(text: str, style: str) -> Text:
    """``text`` in ``style``, its commands (written in backticks, as the CLI prints them) set
    apart in colour instead (QA: the backticks showed on the card)."""
    shown = Text(style=style)
    for n, part in enumerate(text.split("`")):
        shown.append(part, style="bold cyan" if n % 2 else None)
    return shown
