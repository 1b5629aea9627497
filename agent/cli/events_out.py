"""Printing the core service's events: JSON Lines for --json, rich text for people."""

from __future__ import annotations

import dataclasses
import json
import sys
from decimal import Decimal
from typing import Any

from agent.events import (
    Answered,
    Event,
    PlanProposed,
    PolicyDecision,
    RunDone,
    RunFailed,
    SimulationDone,
    StepSimulated,
    TxConfirmed,
    TxSent,
)
from tools.jsonable import plain


def to_json(event: Event) -> dict[str, Any]:
    body = plain(dataclasses.asdict(event))
    return {"event": type(event).__name__, **body}


def emit(event: Event, as_json: bool, on_aave: str = "") -> None:
    """``on_aave``: what the plan moves on Aave, said after a run's wallet changes
    (`agent.tui.format.on_aave`)."""
    if as_json:
        sys.stdout.write(json.dumps(to_json(event)) + "\n")
        sys.stdout.flush()
        return
    from agent.cli.render import console
    from agent.tui.format import amount, health_factor

    if isinstance(event, Answered):
        from rich.markdown import Markdown

        console.print(Markdown(event.text))
    elif isinstance(event, PlanProposed):
        console.print(f"[bold]{event.summary}[/bold]  (plan {event.plan_id})")
    elif isinstance(event, StepSimulated):
        changes = ", ".join(f"{_signed(v)} {s}" for s, v in event.moved.items())
        status = (
            ""
            if event.ok
            else f" [red]reverts: {next(c.revert_reason for c in event.calls if not c.ok)}[/red]"
        )
        hf = (
            f", health factor {health_factor(event.health_factor_after)}"
            if event.health_factor_after
            else ""
        )
        console.print(
            f"  {event.step}. {event.description}: {changes or 'no change'} "
            f"(gas {event.gas:,}, fee {amount(event.fee_eth)} ETH{hf}){status}"
        )
    elif isinstance(event, SimulationDone):
        console.print(f"  simulated at block {event.block}")
    elif isinstance(event, PolicyDecision):
        for v in event.verdicts:
            mark = "[green]✓[/green]" if v.allowed else "[red]✗[/red]"
            console.print(f"  {mark} {v.rule}: {v.message}")
        if event.allowed and event.needs_confirmation:
            console.print(
                "  [yellow]above the session's threshold for a human's confirmation: "
                "`do` on a terminal asks for it; --yes and headless runs refuse it[/yellow]"
            )
    elif isinstance(event, TxSent):
        console.print(f"  sent {event.tx_hash}  {event.label}")
    elif isinstance(event, TxConfirmed):
        console.print(
            f"  {'confirmed' if event.success else '[red]reverted[/red]'} {event.tx_hash[:18]}… gas {event.gas_used:,}"
        )
    elif isinstance(event, RunDone):
        changes = (
            ", ".join(f"{_signed(v)} {s}" for s, v in event.deltas.items()) or "no balance change"
        )
        label = {
            "done": "done",
            "dry_run": "dry run, nothing sent; it would have made",
            "discarded": "discarded, nothing sent; it would have made",
        }  # QA: "discarded, nothing sent: +29.96 USDC" read as if it had happened
        console.print(f"[bold]{label.get(event.status, event.status)}[/bold]: {changes}{on_aave}")
        for problem in event.mismatches:
            console.print(f"[yellow]differs from the simulation: {problem}[/yellow]")
    elif isinstance(event, RunFailed):
        sys.stderr.write(f"error: {event.message}\n")


def _signed(value: Decimal) -> str:
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return text if value < 0 else "+" + text
