"""A plan's summary, as the card, the CLI and the journal show it."""

from __future__ import annotations

import dataclasses

import pytest

from agent.intents.summary import summarise
from agent.journal import PlanRecord


@pytest.mark.parametrize(
    ("step", "summary"),
    [
        (
            {"action": "borrow", "token": "DAI", "amount": "4530"},
            "Borrow 4,530 DAI from Aave V3 at the variable rate",
        ),
        (
            {"action": "supply", "token": "USDC", "amount": "4931.060462"},
            "Supply 4,931.060462 USDC to Aave V3",
        ),
        (
            {
                "action": "swap",
                "amount_kind": "exact_out",
                "amount": "12000",
                "token_in": "ETH",
                "token_out": "USDC",
            },
            "Buy 12,000 USDC with ETH on Uniswap V3",
        ),
        (
            {"action": "repay", "token": "DAI", "amount": "1000000.5"},
            "Repay 1,000,000.5 DAI of debt on Aave V3",
        ),
        ({"action": "wrap", "amount": "0.10"}, "Wrap 0.10 ETH into WETH"),
    ],
)
def test_amounts_have_thousands_separators(step: dict[str, str], summary: str) -> None:
    """QA: "Borrow 4530 DAI" and "supply 4931.060462 USDC" beside cards that write 4,530."""
    assert summarise([step]) == summary


def test_the_journal_does_not_repeat_a_request_the_summary_says_with_separators() -> None:
    """ "supply 1000 usdc" typed reads as "Supply 1,000 USDC to Aave V3": listed once."""
    steps = [{"action": "supply", "token": "USDC", "amount": "1000"}]
    record = PlanRecord(
        "p1", 0.0, "supply 1000 usdc", {"summary": summarise(steps)}, "done", 1, "0x", None, None
    )
    assert record.described == "Supply 1,000 USDC to Aave V3"
    other = dataclasses.replace(record, intent="make it 1000 instead")
    assert other.described == "Supply 1,000 USDC to Aave V3 (“make it 1000 instead”)"
