"""What the agent suggests when Aave would refuse a step, read from the revert as
`tools.revert.explain` words it from the real revert data."""

from __future__ import annotations

import pytest
from eth_abi import encode

from agent.remedies import permissions_hint, recipients_hint, remedy
from policies.model import load_policy
from tests.conftest import ROOT
from tools.revert import aave_error, explain

YIELD_ONLY = load_policy(ROOT / "policies" / "examples" / "yield-only.toml")


def reverted(code: str) -> str:
    """The reason for Aave's revert with error ``code``, as the simulation reports it."""
    return explain(bytes.fromhex("08c379a0") + encode(["string"], [code]))


def test_the_aave_error_is_read_back_from_the_reason() -> None:
    assert aave_error(reverted("34")) == "COLLATERAL_BALANCE_IS_ZERO"
    assert aave_error(reverted("STF")) is None  # Uniswap's: no Aave error
    assert aave_error("Aave: made up") is None
    assert aave_error(None) is None


def test_each_refusal_the_user_can_act_on_says_what_to_ask_for() -> None:
    borrow = {"action": "borrow", "token": "USDC", "amount": "500"}
    withdraw = {"action": "withdraw", "token": "DAI", "amount": "900"}
    repay = {"action": "repay", "token": "USDC", "amount": "100"}
    assert 'e.g. "borrow 500 USDC against 1 ETH"' in str(remedy(borrow, reverted("34")))
    assert "borrow less" in str(remedy(borrow, reverted("36")))
    assert '"how much DAI can I withdraw?"' in str(remedy(withdraw, reverted("32")))
    assert "repay some first" in str(remedy(withdraw, reverted("35")))
    assert "owes no USDC" in str(remedy(repay, reverted("39")))


def test_nothing_is_suggested_for_other_reverts() -> None:
    borrow = {"action": "borrow", "token": "USDC", "amount": "500"}
    assert remedy(borrow, reverted("STF")) is None
    assert remedy(borrow, reverted("32")) is None  # not what a borrow fails with
    assert remedy({"action": "supply", "token": "USDC"}, reverted("34")) is None
    assert remedy(borrow, None) is None


def test_a_denied_transfer_says_how_to_allow_its_recipient() -> None:
    friend = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    send = {"action": "transfer", "token": "USDC", "amount": "10", "to": friend}
    swap = {"action": "swap", "token_in": "ETH", "token_out": "USDC", "amount": "1"}
    hint = recipients_hint([swap, send], ["recipients.allowed"])
    assert hint is not None and f"list {friend} in `recipients`" in hint
    assert recipients_hint([swap, send], ["spend.per_tx"]) is None  # denied for another rule
    assert recipients_hint([swap], ["recipients.allowed"]) is None  # no transfer: a bad output


def test_a_denial_for_what_a_plan_does_says_what_the_policy_allows() -> None:
    said = permissions_hint(YIELD_ONLY, {"actions.allowed", "approvals.exact"})
    assert said is not None
    assert said.startswith("the session's policy (yield-only) allows supply, withdraw on aave-v3")


@pytest.mark.parametrize(
    "denied",
    [
        {"spend.per_tx"},  # how much, not what: the USD limits' hint says what fits
        {"tokens.allowed", "spend.window.24h"},  # allowing the token would not be enough
        {"approvals.exact"},  # alone: an unlimited or oversized approval, not a protocol
    ],
)
def test_no_policy_hint_where_allowing_more_would_not_let_the_plan_through(denied: set) -> None:
    assert permissions_hint(YIELD_ONLY, denied) is None


def test_no_policy_hint_under_the_default_policy_it_would_point_to() -> None:
    default = load_policy(ROOT / "policies" / "default.toml")
    assert permissions_hint(default, {"actions.allowed"}) is None  # transferFrom, say
