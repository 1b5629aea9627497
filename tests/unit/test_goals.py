"""Goal intents: the yield source is chosen by the documented risk model from live market data."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from agent.errors import IntentError
from agent.intents.rules import ParseContext, RuleParser
from strategies.goals import Market, plan_yield
from strategies.plan import StrategyPlan


class Markets:
    """An in-memory MarketReader: what the chain would report."""

    def __init__(self, markets: dict[tuple[str, str], Market]) -> None:
        self.markets = markets

    def supply_market(self, protocol: str, token: str) -> Market | None:
        return self.markets.get((protocol, token))


def plan_for(reader: Markets | None, text: str) -> StrategyPlan:
    """The rule parser's plan for ``text`` with goal strategies reading ``reader``, typed."""
    rules = RuleParser(ParseContext(goals=lambda t, a, r, i: plan_yield(t, a, r, i, reader)))
    raw = rules.parse(text)
    typed = StrategyPlan.model_validate(raw)
    # `defi-agent plan` prints goal plans as the strategy writes them: exactly the schema's form
    assert json.dumps(typed.to_json()) == json.dumps(raw)
    return typed


@pytest.mark.parametrize(
    "text",
    [
        "earn yield on my USDC at low risk",
        "earn yield on usdc",
        "earn interest on my usdc",
        "put my usdc to work",
        "best yield for usdc",
        "get some yield on my usdc with low risk",
        "put my idle usdc to work",  # QA: 'idle' was read as an amount
        "earn yield on my spare USDC",
    ],
)
def test_goal_phrasings_supply_the_idle_balance(text: str) -> None:
    reader = Markets({("aave-v3", "USDC"): Market(Decimal("0.0235"), Decimal("0.65"))})
    plan = plan_for(reader, text)
    assert [s.model_dump() for s in plan.steps] == [
        {"action": "supply", "protocol": "aave-v3", "token": "USDC", "amount": "max"}
    ]
    assert "2.35% APY" in plan.summary and "utilisation 65%" in plan.summary
    assert plan.risk == "low"


def test_named_amount_is_kept() -> None:
    reader = Markets({("aave-v3", "DAI"): Market(Decimal("0.02"), Decimal("0.5"))})
    plan = plan_for(reader, "earn yield on 500 dai")
    assert plan.steps[0].amount == "500"


def test_overused_market_is_skipped_at_low_risk() -> None:
    reader = Markets({("aave-v3", "USDC"): Market(Decimal("0.09"), Decimal("0.97"))})
    with pytest.raises(IntentError, match="no yield source for USDC fits low risk"):
        plan_for(reader, "earn yield on usdc at low risk")
    assert plan_for(reader, "earn yield on usdc at medium risk").steps[0].token == "USDC"


def test_without_a_chain_the_summary_says_apy_is_unknown() -> None:
    plan = plan_for(None, "earn yield on my eth")
    assert "APY unknown" in plan.summary and plan.steps[0].token == "ETH"
