"""Goal strategies: "earn yield on USDC at low risk" becomes a plan that puts the idle balance into
the best yield source the risk level allows.

Risk model, per source and per request:

- each source declares a tier: ``low`` for over-collateralised blue-chip lending markets that can be
  left at any time (Aave V3), ``medium`` for newer or curated markets, ``high`` for anything with
  leverage, lockups or unaudited code;
- a source is eligible when its tier is at most the requested level (default ``low``);
- at ``low`` risk a market more than 90 % utilised is skipped: withdrawals could be blocked until
  borrowers repay;
- eligible sources are ranked by live supply APY, read on chain; without a running chain they are
  ranked by tier, and the summary says the APY is unknown.

A new source (Compound, Morpho, an ERC-4626 vault) is one module exposing a `YieldSource`, added to
`SOURCES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from agent.errors import IntentError
from strategies.goals.aave_v3 import AaveV3Source

TIERS = {"low": 0, "medium": 1, "high": 2}
MAX_UTILISATION_AT_LOW_RISK = Decimal("0.90")


@dataclass(frozen=True)
class Market:
    supply_apy: Decimal
    utilisation: Decimal


class MarketReader(Protocol):
    def supply_market(self, protocol: str, token: str) -> Market | None:
        """Live supply APY and utilisation of ``token`` on ``protocol``; None if not listed."""
        ...


class YieldSource(Protocol):
    protocol: str
    name: str
    tier: str
    why: str

    def supports(self, token: str) -> bool: ...

    def steps(self, token: str, amount: str) -> list[dict[str, Any]]: ...


SOURCES: tuple[YieldSource, ...] = (AaveV3Source(),)


def plan_yield(
    token: str,
    amount: str | None,
    risk: str,
    intent: str,
    reader: MarketReader | None,
    sources: tuple[YieldSource, ...] = SOURCES,
) -> dict[str, Any]:
    """The plan (DESIGN.md's JSON) for "earn yield on ``token``": ``amount`` or, when none is
    named, all of the idle balance ("max"), which the user sees before anything happens."""
    candidates: list[tuple[YieldSource, Market | None]] = []
    for source in sources:
        if not source.supports(token) or TIERS[source.tier] > TIERS[risk]:
            continue
        market = reader.supply_market(source.protocol, token) if reader is not None else None
        if reader is not None and market is None:
            continue
        if (
            market is not None
            and risk == "low"
            and market.utilisation > MAX_UTILISATION_AT_LOW_RISK
        ):
            continue
        candidates.append((source, market))
    if not candidates:
        raise IntentError("unsupported", f"no yield source for {token} fits {risk} risk here")
    source, market = max(
        candidates, key=lambda c: (c[1].supply_apy if c[1] else Decimal(-1), -TIERS[c[0].tier])
    )
    amount_text = amount or "max"
    what = (
        f"all your idle {token}"
        if amount_text == "max"
        else f"{amount_text} of your {token}"
        if amount_text.endswith("%")
        else f"{amount_text} {token}"
    )
    rate = (
        f"at about {market.supply_apy:.2%} APY (utilisation {market.utilisation:.0%})"
        if market
        else "(APY unknown: the chain is not running)"
    )
    summary = f"Supply {what} to {source.name} {rate}: {source.why}"
    return {
        "intent": intent,
        "summary": summary,
        "risk": source.tier,
        "steps": source.steps(token, amount_text),
    }
