"""Follow-ups the offline parser understands in a conversation: "make it 2 ETH instead" changes
the previous plan's amount, through the real planner and grounding check."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import IntentError
from agent.intents.planner import IntentPlanner
from agent.intents.rules import ParseContext, RuleParser
from tests.conftest import run_cli


def planner() -> IntentPlanner:
    context = ParseContext()
    return IntentPlanner(RuleParser(context), context)


def steps_after(*texts: str) -> list[dict]:
    p = planner()
    for text in texts[:-1]:
        p.plan(text)
    return p.plan(texts[-1])["steps"]


@pytest.mark.parametrize(
    ("earlier", "followup", "changed"),
    [
        ("swap 1 ETH for USDC", "make it 2 ETH instead", {"amount": "2"}),
        # the slippage alone ("I don't understand 'make it'")
        ("swap 1 ETH for USDC", "make it 1% slippage", {"max_slippage_bps": 100}),
        ("swap 1 ETH for USDC", "with 2% slippage instead", {"max_slippage_bps": 200}),
        ("swap 1 ETH for USDC", "actually, use 0.3% slippage", {"max_slippage_bps": 30}),
        ("swap 1 ETH for USDC", "actually, 0.5 instead", {"amount": "0.5"}),
        # QA: half the wallet (0.5 of 1 WETH for "swap 0.1", 25,449 USDC for "supply 50"); a
        # share of the plan's own amount, unless the words say the wallet's
        ("swap 0.1 ETH for USDC", "no, make it half", {"amount": "0.05"}),
        ("supply 50 USDC to aave", "make it half", {"amount": "25"}),
        ("supply 299.847003 USDC to aave", "make it half", {"amount": "149.923501"}),
        ("supply 50% of my usdc to aave", "make it half", {"amount": "25%"}),
        ("swap all my ETH for USDC", "make it a quarter", {"amount": "25%"}),
        ("swap 1 ETH for USDC", "make it half of my eth", {"amount": "50%"}),
        ("buy 1 ETH with USDC", "make it half", {"amount": "0.5"}),
        ("swap 1 ETH for USDC", "change it to 1,500.25", {"amount": "1500.25"}),
        ("swap 1 ETH for USDC", "make it 100 dai", {"amount": "100", "token_in": "DAI"}),
        ("swap 1 ETH for USDC", "make it all", {"amount": "max"}),
        ("buy 1 ETH with USDC", "make it 2 eth instead", {"amount": "2"}),
        ("supply 100 USDC to aave", "make it 250 instead", {"amount": "250"}),
        ("supply 100 USDC to aave", "make it 250 DAI", {"amount": "250", "token": "DAI"}),
        ("withdraw my usdc from aave", "make it 10 instead", {"amount": "10"}),
        ("wrap 1 eth", "sorry, 3 instead", {"amount": "3"}),
        ("borrow 50 DAI", "make it 80 instead", {"amount": "80"}),
        # QA: an amount alone, or after "yes but", was "I don't understand"
        ("swap 1 ETH for USDC", "half of my eth", {"amount": "50%"}),
        ("swap 0.1 ETH for USDC", "half", {"amount": "0.05"}),
        ("swap 1 ETH for USDC", "0.3", {"amount": "0.3"}),
        ("swap 1 ETH for USDC", "actually 0.5", {"amount": "0.5"}),
        ("swap 0.1 ETH for USDC", "yes but make it 0.05", {"amount": "0.05"}),
        ("swap 0.1 ETH for USDC", "ok, 0.02 instead", {"amount": "0.02"}),
        ("swap 0.1 ETH for USDC", "half of it", {"amount": "0.05"}),  # QA: "unknown token 'it'"
        ("swap 0.1 ETH for USDC", "make it a quarter of that", {"amount": "0.025"}),
        # QA: "2x" was "unknown token 'x'"; multiples of the plan's amount
        ("swap 0.1 ETH for USDC", "2x", {"amount": "0.2"}),
        ("swap 0.1 ETH for USDC", "double it", {"amount": "0.2"}),
        ("supply 100 USDC to aave", "make it 1.5x", {"amount": "150"}),
        ("supply 100 USDC to aave", "twice as much", {"amount": "200"}),
        ("borrow 50 DAI", "triple that", {"amount": "150"}),
        ("buy 1 ETH with USDC", "x3", {"amount": "3"}),
        ("swap 25% of my ETH for USDC", "make it 4 times that", {"amount": "100%"}),
        ("swap 0.3 ETH for USDC", "0.5x", {"amount": "0.15"}),
        # QA: "a percentage must be at most 100%"; above all of it, only the plan's amount
        ("swap 0.1 ETH for USDC", "make it 200%", {"amount": "0.2"}),
        ("supply 100 USDC to aave", "150 percent", {"amount": "150"}),
        ("swap 25% of my ETH for USDC", "make it 300%", {"amount": "75%"}),
    ],
)
def test_followup_changes_the_amount(earlier: str, followup: str, changed: dict) -> None:
    before = planner().plan(earlier)["steps"][0]
    assert steps_after(earlier, followup) == [{**before, **changed}]


@pytest.mark.parametrize(
    ("earlier", "followup", "same_as"),
    [
        ("swap 1 ETH for USDC", "make it 1000 USDC", "buy 1000 USDC with ETH"),
        ("buy 0.5 ETH with DAI", "actually 300 DAI instead", "swap 300 DAI for ETH"),
    ],
)
def test_followup_in_the_other_token_of_a_swap_counts_the_swap_in_it(
    earlier: str, followup: str, same_as: str
) -> None:
    """Naming the token the swap buys makes it buy that much (it was "cannot swap USDC into
    itself")."""
    assert steps_after(earlier, followup) == planner().plan(same_as)["steps"]


def test_followup_keeps_the_rest_of_a_chain() -> None:
    before = planner().plan("swap 1 ETH for USDC then supply it to aave")["steps"]
    after = steps_after("swap 1 ETH for USDC then supply it to aave", "make it 3 instead")
    assert after == [{**before[0], "amount": "3"}, before[1]]


def test_followup_names_which_amount_when_the_plan_has_two() -> None:
    earlier = "supply 100 USDC and borrow 50 DAI"
    assert steps_after(earlier, "make it 80 dai")[1]["amount"] == "80"
    with pytest.raises(IntentError) as caught:
        steps_after(earlier, "make it 200")
    assert caught.value.code == "needs_clarification"
    assert '"supply 100 USDC" or "borrow 50 DAI"' in caught.value.message


def test_followup_names_which_swap_by_what_it_buys() -> None:
    """Two swaps of the same amount of ETH: the question tells them apart, and so can the answer."""
    earlier = "swap 0.5 ETH to DAI and 0.5 ETH to USDC"
    with pytest.raises(IntentError) as caught:
        steps_after(earlier, "make it 0.2 eth")
    assert caught.value.message == (
        'Which amount should change: "swap 0.5 ETH to DAI" or "swap 0.5 ETH to USDC"? '
        "e.g. make it 0.2 ETH for the DAI"
    )
    after = steps_after(earlier, "make it 0.2 ETH for the DAI")
    assert [(s["amount"], s["token_out"]) for s in after] == [("0.2", "DAI"), ("0.5", "USDC")]
    after = steps_after(earlier, "0.3 to usdc instead")
    assert [(s["amount"], s["token_out"]) for s in after] == [("0.5", "DAI"), ("0.3", "USDC")]
    with pytest.raises(IntentError, match="The plan has no swap to WBTC"):
        steps_after(earlier, "make it 0.2 eth for the wbtc")


def test_followup_sets_the_slippage_it_names() -> None:
    after = steps_after("swap 1 ETH for USDC", "make it 2 ETH instead, 1% slippage")
    assert (after[0]["amount"], after[0]["max_slippage_bps"]) == ("2", 100)


def test_shares_of_shares_are_grounded() -> None:
    """QA: "make it a quarter", then "make it half", was ungrounded (0.125 stated nowhere)."""
    after = steps_after("swap 1 ETH for USDC", "make it a quarter", "make it half")
    assert after[0]["amount"] == "0.125"


def test_followup_of_a_followup_builds_on_the_latest_plan() -> None:
    after = steps_after("swap 1 ETH for USDC", "make it 2 instead", "make it 500 dai")
    assert (after[0]["token_in"], after[0]["amount"]) == ("DAI", "500")


@pytest.mark.parametrize(
    ("texts", "code", "words"),
    [
        (("make it 2 ETH instead",), "needs_clarification", "no earlier plan"),
        (("swap 1 ETH for USDC", "make it usdc instead"), "needs_clarification", "amount"),
        (("swap 1 ETH for USDC", "make it half the usdc"), "invalid_amount", "fixed amount"),
        (("borrow 50 DAI", "make it max"), "invalid_amount", "fixed amount"),
        (("swap 1 ETH for USDC then supply it", "make it 3 wbtc"), "needs_clarification", "whole"),
        (("wrap 1 eth", "make it 2 dai"), "needs_clarification", "whole"),
        (("swap 1 ETH for USDC", "make it 0 instead"), "invalid_amount", "more than zero"),
        (("swap 1 ETH for USDC", "make it 2 shib instead"), "unknown_token", "SHIB"),
        # QA: an amount alone in a token the plan does not name swapped it in ("Swap 0.05 WBTC")
        (("swap 0.1 ETH for USDC", "0.05 wbtc"), "needs_clarification", "make it 0.05 wbtc"),
        (("supply 100 usdc to aave", "50 dai"), "needs_clarification", "The plan has no DAI"),
        (("supply 100 usdc", "half of my eth"), "needs_clarification", "The plan has no ETH"),
        (("swap all my ETH for USDC", "double it"), "invalid_amount", "more than there is"),
        (  # QA: "The plan spends 100% of it", of a withdrawal
            ("withdraw all my usdc from aave", "make it 3x"),
            "invalid_amount",
            "The plan's amount is all of it: 300% of that is more than there is",
        ),
        (("swap 60% of my ETH for USDC", "2x"), "invalid_amount", "60% of it"),
        (("swap 60% of my ETH for USDC", "make it 200%"), "invalid_amount", "60% of it"),
        (("swap 1 ETH for USDC", "make it 200% of my eth"), "invalid_amount", "at most 100%"),
        (("swap 1 ETH to DAI and 1 ETH to USDC", "2x"), "needs_clarification", "Which amount"),
    ],
)
def test_followup_errors(texts: tuple[str, ...], code: str, words: str) -> None:
    with pytest.raises(IntentError) as caught:
        steps_after(*texts)
    assert caught.value.code == code
    assert words in caught.value.message


def test_an_amount_alone_before_any_plan_is_not_understood() -> None:
    with pytest.raises(IntentError) as caught:
        steps_after("half of my eth")
    assert caught.value.code == "unsupported"
    assert "I don't understand 'half of my eth'" in caught.value.message


def test_a_whole_request_ending_in_instead_is_a_new_plan() -> None:
    after = steps_after("swap 1 ETH for USDC", "swap 2 ETH for DAI instead")
    assert (after[0]["token_out"], after[0]["amount"]) == ("DAI", "2")


def test_cli_plan_has_no_conversation(tmp_path: Path) -> None:
    """`defi-agent plan` answers one request: a follow-up asks for the whole request."""
    result = run_cli("plan", "make it 2 ETH instead", "--json", data_dir=tmp_path / "data")
    assert result.returncode == 2
    assert "no earlier plan" in result.stdout


@pytest.mark.parametrize(
    ("reply", "supplied", "borrowed"),
    [
        ("the DAI", "1", "250"),
        ("borrow 500 DAI", "1", "250"),  # the option as the question quoted it
        ('"borrow 500 DAI"', "1", "250"),
        ("the borrow", "1", "250"),
        ("the supply one", "0.5", "500"),
        ("ETH", "0.5", "500"),
    ],
)
def test_which_amount_should_change_is_answered_by_picking_a_step(
    reply: str, supplied: str, borrowed: str
) -> None:
    """QA: "the DAI" was "I don't understand", and "borrow 500 DAI", quoted from the question,
    made a new plan that borrowed the whole 500 against nothing supplied."""
    p = planner()
    p.plan("borrow 500 DAI against 1 ETH")
    with pytest.raises(IntentError, match='Which amount should change: "supply 1 ETH" or "borrow'):
        p.plan("make it half")

    steps = p.plan(reply)["steps"]

    assert [(s["action"], s["amount"]) for s in steps] == [
        ("supply", supplied),
        ("borrow", borrowed),
    ]


@pytest.mark.parametrize(
    ("reply", "amounts"),
    [
        ("the DAI", ["0.25", "0.5"]),
        ("the USDC one", ["0.5", "0.25"]),
        ("swap 0.5 ETH to USDC", ["0.5", "0.25"]),
    ],
)
def test_which_swap_should_change_is_answered_by_what_it_gets(reply: str, amounts: list) -> None:
    """QA: of "swap 0.5 ETH to DAI and 0.5 ETH to USDC", "make it half" asked which, and "the
    DAI" (the README's answer) asked the same question again, forever: both swaps spend ETH."""
    p = planner()
    p.plan("swap 0.5 ETH to DAI and 0.5 ETH to USDC")
    with pytest.raises(IntentError, match="Which amount should change"):
        p.plan("make it half")

    steps = p.plan(reply)["steps"]

    assert [s["token_out"] for s in steps] == ["DAI", "USDC"]
    assert [s["amount"] for s in steps] == amounts


def test_a_wrong_answer_about_two_swaps_gives_an_answer_of_the_plan_as_example() -> None:
    """QA: the example was "the borrow", on a plan of two swaps."""
    p = planner()
    p.plan("swap 0.5 ETH to DAI and 0.5 ETH to USDC")
    with pytest.raises(IntentError):
        p.plan("make it half")
    with pytest.raises(IntentError, match=r'e\.g\. "the USDC"\.$'):
        p.plan("the first")
    assert [s["amount"] for s in p.plan("the USDC")["steps"]] == ["0.5", "0.25"]


def test_a_new_request_after_which_amount_is_its_own() -> None:
    p = planner()
    p.plan("borrow 500 DAI against 1 ETH")
    with pytest.raises(IntentError):
        p.plan("make it half")
    assert [s["action"] for s in p.plan("swap 1 ETH to USDC")["steps"]] == ["swap"]


@pytest.mark.parametrize("again", ["try again", "Try it again!", "retry", "do that again", "again"])
def test_try_again_makes_the_last_plan_again(again: str) -> None:
    """QA: a plan that failed on its passed deadline said "propose it again"; "try again" was
    "I don't understand"."""
    p = planner()
    first = p.plan("swap 1 ETH to USDC then supply it to aave")
    p.plan("make it half")
    assert p.plan(again)["steps"][0]["amount"] == "0.5"  # the last plan: the halved one
    assert first["steps"][0]["amount"] == "1"


def test_try_again_takes_the_default_slippage_of_the_session_in_effect_now() -> None:
    """QA: a plan denied under a session whose default was 10 bps, then /session new (50 bps):
    "try again" kept 10 bps. A slippage the user named is kept."""
    defaults = iter([10, 50, 50, 10, 10])
    context = ParseContext()
    p = IntentPlanner(RuleParser(context), context, default_slippage=lambda: next(defaults))
    assert p.plan("swap 10 USDC to DAI")["steps"][0]["max_slippage_bps"] == 10
    assert p.plan("try again")["steps"][0]["max_slippage_bps"] == 50
    assert p.plan("swap 10 USDC to DAI with 0.2% slippage")["steps"][0]["max_slippage_bps"] == 20
    assert p.plan("try again")["steps"][0]["max_slippage_bps"] == 20


def test_try_again_with_nothing_before_asks_for_the_request() -> None:
    with pytest.raises(IntentError, match="There is no earlier request here to try again"):
        planner().plan("try again")


def test_a_wrong_answer_to_which_amount_asks_again() -> None:
    """QA: "the USDC" (no step of the plan) dropped the question: "the ETH" after it was not
    understood either."""
    p = planner()
    p.plan("borrow 500 DAI against 1 ETH")
    with pytest.raises(IntentError):
        p.plan("make it half")
    for wrong in ("the USDC", "neither"):
        with pytest.raises(IntentError, match=r'Which amount should change.*e\.g\. "the borrow"'):
            p.plan(wrong)
    assert [s["amount"] for s in p.plan("the ETH")["steps"]] == ["0.5", "500"]
    with pytest.raises(IntentError, match="Which amount"):
        p.plan("make it half")
    with pytest.raises(IntentError, match="PEPE"):  # a request of its own keeps its own error
        p.plan("swap 1 PEPE for ETH")


@pytest.mark.parametrize(
    ("request_text", "follow_up", "summary"),
    [
        ("swap 0.1 eth to usdc", "to dai instead", "Swap 0.1 ETH for DAI on Uniswap V3"),
        ("swap 0.1 eth to usdc", "actually into wbtc", "Swap 0.1 ETH for WBTC on Uniswap V3"),
        ("swap 0.1 eth to usdc", "make it to dai", "Swap 0.1 ETH for DAI on Uniswap V3"),
        ("buy 300 usdc with eth", "pay with dai instead", "Buy 300 USDC with DAI on Uniswap V3"),
        ("buy 300 usdc with eth", "using wbtc", "Buy 300 USDC with WBTC on Uniswap V3"),
        ("buy 300 usdc with eth", "use dai instead", "Buy 300 USDC with DAI on Uniswap V3"),
    ],
)
def test_a_follow_up_changes_the_token_a_swap_gets_or_pays(
    request_text: str, follow_up: str, summary: str
) -> None:
    """QA: "actually to dai" was "I don't understand", and "make it dai" asked for an amount."""
    p = planner()
    p.plan(request_text)
    assert p.plan(follow_up)["summary"] == summary


@pytest.mark.parametrize(
    ("request_text", "follow_up", "said"),
    [
        ("swap 0.1 eth to usdc", "with dai instead", "e.g. swap 0.1 DAI to USDC"),
        ("buy 300 usdc with eth", "to dai instead", "e.g. buy 300 DAI with ETH"),
        ("spend 500 usdc on eth", "use DAI instead", "e.g. swap 500 DAI to ETH"),  # QA
        ("swap 0.1 eth to usdc", "to weth", "ETH to WETH is not a swap"),
        ("swap 0.1 eth to dai", "with dai instead", "DAI to DAI is not a swap"),  # QA
        ("swap 0.1 eth to usdc then supply it", "to dai instead", "say the whole request with DAI"),
    ],
)
def test_a_token_change_that_would_change_the_amount_or_the_plan_asks_for_it_whole(
    request_text: str, follow_up: str, said: str
) -> None:
    """The token an amount is counted in stays ("swap 0.1 ETH" paid in DAI would be 0.1 DAI), and
    a longer plan's later steps use what the swap gets: those are new requests."""
    p = planner()
    p.plan(request_text)
    with pytest.raises(IntentError, match="say the whole request") as caught:
        p.plan(follow_up)
    assert said in caught.value.message


def test_make_it_a_token_says_how_to_change_a_token() -> None:
    """QA: "make it dai" asked "What should the amount be?"."""
    p = planner()
    p.plan("swap 0.1 eth to usdc")
    with pytest.raises(IntentError, match='To use DAI, say "to DAI instead"'):
        p.plan("make it dai")
    assert p.plan("to DAI instead")["summary"] == "Swap 0.1 ETH for DAI on Uniswap V3"


def test_a_token_change_to_the_same_or_an_unknown_token_says_so() -> None:
    """QA: "to usdc instead" of a swap to USDC made the same card again without a word, and "to
    foo instead" asked for an amount."""
    p = planner()
    p.plan("swap 0.1 eth to usdc")
    with pytest.raises(IntentError, match="The swap already gets USDC"):
        p.plan("to usdc instead")
    with pytest.raises(IntentError) as caught:
        p.plan("to foo instead")
    assert caught.value.code == "unknown_token"


@pytest.mark.parametrize(
    ("follow_up", "answer", "amounts"),
    [
        ("double it", "the borrow", ["1", "1000"]),
        ("make it 2x", "the supply", ["2", "500"]),
        ("twice as much", "the DAI", ["1", "1000"]),
        ("make it 200%", "the supply", ["2", "500"]),
        ("make it half", "the borrow", ["1", "250"]),
    ],
)
def test_a_multiple_is_applied_to_the_step_picked_by_which_amount(
    follow_up: str, answer: str, amounts: list
) -> None:
    """QA: "double it", then "the borrow", was "I don't understand 'double it dai'"; "make it
    200%", then "the supply", "at most 100%"."""
    p = planner()
    p.plan("borrow 500 DAI against 1 ETH")
    with pytest.raises(IntentError, match="Which amount should change"):
        p.plan(follow_up)
    assert [s["amount"] for s in p.plan(answer)["steps"]] == amounts


@pytest.mark.parametrize(
    ("request_text", "follow_up", "answer", "amounts"),
    [
        ("borrow 500 DAI against 1 ETH", "make it half", "both", ["0.5", "250"]),
        ("swap 0.5 ETH to DAI and 0.5 ETH to USDC", "double it", "both of them", ["1", "1"]),
        ("supply 100 usdc and 50 dai", "make it half", "all", ["50", "25"]),
    ],
)
def test_both_answers_which_amount_should_change_with_every_step(
    request_text: str, follow_up: str, answer: str, amounts: list
) -> None:
    """QA (three rounds): "both" asked the same question again."""
    p = planner()
    p.plan(request_text)
    with pytest.raises(IntentError, match="Which amount should change"):
        p.plan(follow_up)
    assert [s["amount"] for s in p.plan(answer)["steps"]] == amounts
