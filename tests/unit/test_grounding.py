"""The grounding check rejects what the user's words do not support, from any parser."""

from __future__ import annotations

import pytest

from agent.errors import IntentError
from agent.intents.grounding import check
from strategies.plan import StrategyPlan

ADDR = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def plan(*steps: dict) -> dict:
    return StrategyPlan.model_validate(
        {"intent": "x", "summary": "x", "risk": "low", "steps": list(steps)}
    ).to_json()


def swap(amount: str = "1", token_in: str = "ETH", token_out: str = "USDC", bps: int = 50) -> dict:
    return {
        "action": "swap",
        "token_in": token_in,
        "token_out": token_out,
        "amount": amount,
        "amount_kind": "exact_in",
        "max_slippage_bps": bps,
    }


@pytest.mark.parametrize(
    ("text", "steps", "needle"),
    [
        ("swap 1 eth for usdc", [swap("5")], "amount 5"),
        ("swap 1k usdc for eth", [swap("1", "USDC", "ETH")], "amount 1"),
        ("swap 1kg of usdc for eth", [swap("1000", "USDC", "ETH")], "amount 1000"),
        # a slippage is not an amount, a percentage not a fixed amount, nor the other way round
        ("swap 1 eth to usdc with max slippage 1%", [swap("max", bps=100)], "all of the balance"),
        ("swap eth to usdc, max 1% slippage", [swap("max", bps=100)], "all of the balance"),
        ("swap eth to usdc with 1% slippage", [swap("1", bps=100)], "amount 1"),
        ("swap eth to usdc with 1% slippage", [swap("1%", bps=100)], "1%"),
        ("swap 10 eth to usdc", [swap("10%")], "10%"),
        ("swap 50% of my usdc to eth", [swap("50", "USDC", "ETH")], "amount 50"),
        ("swap some eth for usdc", [swap("1")], "amount 1"),
        ("swap 1 eth for usdc", [swap("1", token_out="DAI")], "names DAI"),
        ("swap 1 eth for usdc", [swap("1", bps=300)], "300 bps"),
        ("swap 1 eth for usdc", [swap("50%")], "50%"),
        ("swap 1 eth for usdc", [swap("max")], "all of the balance"),
        # "all", "half" and "every" inside other words ground nothing
        ("swap 1 ETH for USDC from my wallet", [swap("max")], "all of the balance"),
        ("swap 1 ETH for USDC, a small trade", [swap("100%")], "100%"),
        ("on behalf of my team, swap 200 eth for usdc", [swap("50%")], "50%"),
        ("swap 1 eth for usdc, everyone does", [swap("max")], "all of the balance"),
        # a slippage is grounded by a slippage the request states, not by its amounts
        ("swap 1 ETH for USDC", [swap("1", bps=100)], "100 bps"),
        ("swap 50 usdc for dai", [swap("50", "USDC", "DAI", bps=5000)], "5000 bps"),
        ("swap 50% of my eth for usdc, 1% slippage", [swap("50%", bps=5000)], "5000 bps"),
        (
            "send 1 usdc to my friend",
            [{"action": "transfer", "token": "USDC", "amount": "1", "to": ADDR}],
            "address",
        ),
        (
            "supply 1 usdc",
            [{"action": "supply", "token": "USDC", "amount": "output:1"}],
            "output of step 1",
        ),
        (
            "withdraw my usdc",
            [{"action": "withdraw", "token": "DAI", "amount": "max"}],
            "names DAI",
        ),
        (
            "supply everything",
            [{"action": "supply", "token": "DAI", "amount": "max"}],
            "names DAI",
        ),
    ],
)
def test_invented_values_are_ungrounded(text: str, steps: list[dict], needle: str) -> None:
    with pytest.raises(IntentError) as caught:
        check(plan(*steps), text, 50)
    assert caught.value.code == "ungrounded"
    assert needle in caught.value.message


def test_a_plan_on_aave_for_a_request_naming_another_protocol_is_refused() -> None:
    """What a model might make of "supply to compound": a plan, on the protocol the agent has."""
    supply = {"action": "supply", "token": "USDC", "amount": "100"}
    with pytest.raises(IntentError) as caught:
        check(plan(supply), "supply 100 usdc to compound", 50)
    assert caught.value.code == "unsupported"
    assert caught.value.message.startswith("compound is not supported here")


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("swap half my ether for usd coin", [swap("50%")]),
        ("swap a quarter of my eth for usdc", [swap("25%")]),
        ("swap all my eth for usdc", [swap("max")]),
        ("swap 1,000 eth for usdc", [swap("1000")]),
        ("swap 1.5k usdc for eth", [swap("1500", "USDC", "ETH")]),
        ("swap one eth for usdc", [swap("1")]),
        ("swap .5k usdc for eth", [swap("500", "USDC", "ETH")]),
        ("swap 10 percent of my eth for usdc with 1% slippage", [swap("10%", bps=100)]),
        ("swap all my eth for usdc, max slippage 1%", [swap("max", bps=100)]),
        ("swap 1 eth for usdc with 1% slippage", [swap("1", bps=100)]),
        ("swap 1 eth for usdc, 30 bps slippage", [swap("1", bps=30)]),
        ("swap 1 eth for usdc, slippage of half a percent or 0.5%", [swap("1", bps=50)]),
        ("swap 1 eth for usdc and let it slip by 1.5% at most", [swap("1", bps=150)]),
        ("swap all of my eth for usdc", [swap("max")]),
        ("withdraw my usdc", [{"action": "withdraw", "token": "USDC", "amount": "max"}]),
        ("earn yield on my usdc", [{"action": "supply", "token": "USDC", "amount": "max"}]),
        (
            "withdraw everything from aave",
            [
                {"action": "withdraw", "token": "USDC", "amount": "max"},
                {"action": "withdraw", "token": "WETH", "amount": "max"},
            ],
        ),
        ("repay all my debt", [{"action": "repay", "token": "DAI", "amount": "max"}]),
        (
            f"send 1 usdc to {ADDR.lower()}",
            [{"action": "transfer", "token": "USDC", "amount": "1", "to": ADDR}],
        ),
        (
            "swap 1 eth for usdc then supply it",
            [swap("1"), {"action": "supply", "token": "USDC", "amount": "output:1"}],
        ),
    ],
)
def test_grounded_plans_pass(text: str, steps: list[dict]) -> None:
    check(plan(*steps), text, 50)
