"""Number formatting shared by the widgets and the command line."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.events import SimulationDone


def amount(value: Decimal) -> str:
    """Token amounts: thousands separators, at most 6 decimals, no trailing zeros."""
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def short(value: Decimal) -> str:
    """A token amount for a narrow column: 2 decimals from 1,000 on, 4 from 1, else 6 (QA: the
    sidebar's "USDC 51,499.1750…" was cut)."""
    places = 2 if abs(value) >= 1000 else 4 if abs(value) >= 1 else 6
    return amount(value.quantize(Decimal(1).scaleb(-places), ROUND_DOWN))


def signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + amount(value)


def usd(value: Decimal) -> str:
    return f"${value:,.2f}"


HEALTHY = Decimal(1000)
"""A health factor from which only its size matters: a debt of dust has one of millions."""


def health_factor(value: Decimal) -> str:
    """Rounded down to 2 decimals, as the policy's verdict writes it: a card showed 1.25 for a
    borrow the verdict denied at 1.24, and 1.50 for one below a floor of 1.5. From `HEALTHY`
    on, "over 1,000" (QA: "901,660,330.52" once a debt was repaid down to dust)."""
    if value >= HEALTHY:
        return f"over {HEALTHY:,}"
    return f"{value.quantize(Decimal('0.01'), ROUND_DOWN):,}"


_AAVE_DONE = {
    "supply": "supplied",
    "withdraw": "withdrawn",
    "borrow": "borrowed",
    "repay": "repaid",
}


def on_aave(plan: Mapping[str, Any], simulation: SimulationDone | None) -> str:
    """What the plan's Aave steps move there, as simulated ("; on Aave: 299.85 USDC supplied"),
    or nothing: the wallet's changes alone made a swap then supply look as if the swapped tokens
    had vanished (QA)."""
    if simulation is None:
        return ""
    return moved_on_aave(plan, {sim.step: sim.moved for sim in simulation.steps})


def moved_on_aave(plan: Mapping[str, Any], moves: Mapping[int, Mapping[str, Decimal]]) -> str:
    """`on_aave` from what each step (by its 1-based number) moves, the network fee apart."""
    moved = []
    steps = plan.get("steps", [])
    for number, changes in moves.items():
        step = steps[number - 1]
        done = _AAVE_DONE.get(step["action"])
        raw = changes.get(str(step.get("token")), Decimal(0))
        if done is not None and raw:
            moved.append(f"{amount(abs(raw))} {step['token']} {done}")
    return f"; on Aave: {', '.join(moved)}" if moved else ""
