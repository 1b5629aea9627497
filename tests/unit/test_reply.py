"""A reply to the agent's question is read with the request it answers."""

from __future__ import annotations

import pytest

from agent.errors import IntentError
from agent.intents.planner import IntentPlanner
from agent.intents.rules import ParseContext, RuleParser

WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def planner() -> IntentPlanner:
    context = ParseContext()
    return IntentPlanner(RuleParser(context), context)


def asked(p: IntentPlanner, request: str) -> str:
    with pytest.raises(IntentError) as caught:
        p.plan(request)
    assert caught.value.code == "needs_clarification"
    return caught.value.message


@pytest.mark.parametrize(
    ("request_text", "reply", "summary"),
    [
        ("swap eth to usdc", "0.1", "Swap 0.1 ETH for USDC on Uniswap V3"),
        ("swap eth to usdc", "0.1 eth", "Swap 0.1 ETH for USDC on Uniswap V3"),
        ("swap eth for dai", "half", "Swap 50% of your ETH for DAI on Uniswap V3"),
        ("supply usdc", "100 usdc", "Supply 100 USDC to Aave V3"),
        ("borrow dai", "1.5k", "Borrow 1,500 DAI from Aave V3 at the variable rate"),
        ("swap 1 eth", "to usdc", "Swap 1 ETH for USDC on Uniswap V3"),
        ("send 1 usdc", f"to {WALLET}", f"Send 1 USDC to {WALLET}"),
        # an amount answers what is spent: it bought 100 ETH
        ("buy eth with usdc", "100", "Swap 100 USDC for ETH on Uniswap V3"),
        ("purchase eth using usdc", "1k", "Swap 1,000 USDC for ETH on Uniswap V3"),
        ("buy usdc with eth", "1 eth", "Swap 1 ETH for USDC on Uniswap V3"),
        ("please swap eth to usdc", "0.1", "Swap 0.1 ETH for USDC on Uniswap V3"),
        ("take a loan of dai", "500", "Borrow 500 DAI from Aave V3 at the variable rate"),
        ("swap my eth to usdc", "0.1 eth", "Swap 0.1 ETH for USDC on Uniswap V3"),
        ("swap eth to usdc", "a quarter", "Swap 25% of your ETH for USDC on Uniswap V3"),
        ("swap eth to usdc", "10 %", "Swap 10% of your ETH for USDC on Uniswap V3"),
        # QA: "I don't understand '0.1'", of a reply with words or marks after it, or a name
        ("swap eth to usdc", "0.1 please", "Swap 0.1 ETH for USDC on Uniswap V3"),
        ("swap eth to usdc", "0.1!", "Swap 0.1 ETH for USDC on Uniswap V3"),
        ("swap eth to usdc", "0.1 🙏", "Swap 0.1 ETH for USDC on Uniswap V3"),
        ("swap eth to usdc", "0.1 ether", "Swap 0.1 ETH for USDC on Uniswap V3"),
    ],
)
def test_the_answer_to_a_question_completes_the_request(
    request_text: str, reply: str, summary: str
) -> None:
    """ "How much ETH do you want to swap?" answered "0.1" was "I don't understand '0.1'"."""
    p = planner()
    asked(p, request_text)
    assert p.plan(reply)["summary"] == summary


@pytest.mark.parametrize(
    ("request_text", "summary"),
    [
        ("buy $500 of eth with usdc", "Swap 500 USDC for ETH on Uniswap V3"),
        ("swap $500 of usdc to eth", "Swap 500 USDC for ETH on Uniswap V3"),
        ("buy $1k of wbtc with dai", "Swap 1,000 DAI for WBTC on Uniswap V3"),
        ("spend $1,500 worth of usdc on eth", "Swap 1,500 USDC for ETH on Uniswap V3"),
    ],
)
def test_dollars_of_a_dollar_stablecoin_are_that_many_tokens(
    request_text: str, summary: str
) -> None:
    """QA: "buy $500 of eth with usdc" asked how much ETH that was, or to spend a dollar
    stablecoin instead, which it did."""
    assert planner().plan(request_text)["summary"] == summary


@pytest.mark.parametrize(
    ("request_text", "reply", "summary"),
    [
        ("buy $500 of eth", "500 usdc", "Swap 500 USDC for ETH on Uniswap V3"),
        ("buy $500 of eth", "with dai", "Swap 500 DAI for ETH on Uniswap V3"),
        ("buy $500 of eth", "usdc", "Swap 500 USDC for ETH on Uniswap V3"),
        ("swap $100 of eth to usdc", "0.03 eth", "Swap 0.03 ETH for USDC on Uniswap V3"),
        ("swap $100 of eth to usdc", "0.03", "Swap 0.03 ETH for USDC on Uniswap V3"),
    ],
)
def test_how_much_is_that_in_tokens_is_answered(
    request_text: str, reply: str, summary: str
) -> None:
    """QA: "500 usdc", answering "how much ETH is that? … or spend a dollar stablecoin", got
    the same question back."""
    p = planner()
    assert "how much ETH is that?" in asked(p, request_text)
    assert p.plan(reply)["summary"] == summary


@pytest.mark.parametrize(
    ("request_text", "reply", "summary"),
    [
        ("buy 0.2 eth", "usdc", "Buy 0.2 ETH with USDC on Uniswap V3"),
        ("buy eth", "100 usdc", "Swap 100 USDC for ETH on Uniswap V3"),  # QA: not understood
        ("buy 0.2 eth", "with usdc", "Buy 0.2 ETH with USDC on Uniswap V3"),
        ("swap 0.3 to dai", "eth", "Swap 0.3 ETH for DAI on Uniswap V3"),
        ("swap 1 eth", "usdc", "Swap 1 ETH for USDC on Uniswap V3"),
        ("sell 1 eth", "for usdc", "Swap 1 ETH for USDC on Uniswap V3"),
        ("wrap", "0.5", "Wrap 0.5 ETH into WETH"),  # QA: "Which token?"
        ("swap 1 eth", "to usdc with 1% slippage", "Swap 1 ETH for USDC on Uniswap V3"),  # QA
        ("unwrap", "0.5 weth", "Unwrap 0.5 WETH into ETH"),
        ("swap to dai", "0.3 eth", "Swap 0.3 ETH for DAI on Uniswap V3"),
    ],
)
def test_a_token_alone_answers_the_question_of_which_token(
    request_text: str, reply: str, summary: str
) -> None:
    """QA: "usdc", answering "What do you want to pay for the ETH with?", and "eth", answering
    "Which token?", were "I don't understand"; "swap to dai" asked into which token."""
    p = planner()
    p.plan("swap 1 eth to wbtc")  # a plan before: the answers are not follow-ups of it
    asked(p, request_text)
    plan = p.plan(reply)
    assert plan["summary"] == summary
    if "slippage" in reply:
        assert plan["steps"][0]["max_slippage_bps"] == 100


def test_after_a_question_an_answer_completes_its_request_and_a_follow_up_the_open_plan() -> None:
    """QA: after a plan of 1 ETH, "buy 0.2 eth" asked what to pay with, and "with usdc…" read
    as a change of that plan: "The amount is 1 ETH: … e.g. swap 1 USDC to USDC". An answer now
    completes the request asked about; a follow-up that is no answer changes the plan still
    open (QA: "There is no earlier plan here to change", with its card open)."""
    p = planner()
    p.plan("swap 1 eth to usdc")
    asked(p, "buy 0.2 eth")
    assert p.plan("with dai instead")["summary"] == "Buy 0.2 ETH with DAI on Uniswap V3"
    p = planner()
    p.plan("swap 1 eth to usdc")
    asked(p, "buy 0.2 eth")
    assert p.plan("make it 2 eth")["summary"] == "Swap 2 ETH for USDC on Uniswap V3"
    p = planner()
    p.plan("swap 1 eth to usdc")
    with pytest.raises(IntentError, match="The amount is 1 ETH"):
        p.plan("pay with dai")  # said, not asked: "0.5" next is no answer to it (QA)
    assert p.plan("0.5")["summary"] == "Swap 0.5 ETH for USDC on Uniswap V3"


def test_an_address_answers_only_to_whom_a_transfer_goes() -> None:
    """QA: an address answering "How much ETH?" made "I don't know the token 'usdc to 0x…'"."""
    p = planner()
    asked(p, "swap eth to usdc")
    with pytest.raises(IntentError) as caught:
        p.plan(WALLET)
    assert "usdc to" not in caught.value.message.lower()
    asked(p, "send 1 usdc")
    assert p.plan(WALLET)["summary"] == f"Send 1 USDC to {WALLET}"


def test_a_sale_asks_only_what_it_misses() -> None:
    """QA: "sell $100 of eth" and "sell 1 eth" asked what to swap and into which token."""
    assert "how much ETH is that?" in asked(planner(), "sell $100 of eth")
    assert asked(planner(), "sell 1 eth") == "What do you want to swap the ETH for?"


def test_a_reply_that_is_not_an_answer_is_read_on_its_own() -> None:
    p = planner()
    asked(p, "borrow dai")
    with pytest.raises(IntentError) as caught:
        p.plan("100 eth")  # not an amount of DAI
    assert "I don't understand '100 eth'" in caught.value.message
    asked(p, "swap eth to usdc")
    assert p.plan("swap 1 eth for dai")["summary"] == "Swap 1 ETH for DAI on Uniswap V3"
    # the question was answered by a request of its own: "0.1" now changes that plan's amount
    assert p.plan("0.1")["summary"] == "Swap 0.1 ETH for DAI on Uniswap V3"


def test_an_answer_that_leaves_another_question_is_carried_on() -> None:
    p = planner()
    asked(p, "send usdc")
    assert "address" in asked(p, "5")
    assert p.plan(WALLET)["summary"] == f"Send 5 USDC to {WALLET}"


@pytest.mark.parametrize(
    ("request_text", "reply"),
    [
        ("buy usdc with eth", "1 usdc"),  # it asked about the ETH
        ("swap eth for dai", "100 dai"),
    ],
)
def test_a_reply_that_does_not_say_which_amount_is_not_guessed(
    request_text: str, reply: str
) -> None:
    p = planner()
    asked(p, request_text)
    with pytest.raises(IntentError) as caught:
        p.plan(reply)
    assert caught.value.code == "unsupported"  # read on its own: not a request


def test_an_answer_out_of_range_says_so() -> None:
    """ "0" was "I don't understand '0'"."""
    p = planner()
    asked(p, "swap eth to usdc")
    with pytest.raises(IntentError) as caught:
        p.plan("0")
    assert caught.value.code == "invalid_amount"


@pytest.mark.parametrize(
    ("request_text", "reply", "summary"),
    [
        (
            "swap 0.1 eth for usdc then supply usdc to aave",
            "150",
            "Swap 0.1 ETH for USDC on Uniswap V3, then supply 150 USDC to Aave V3",
        ),
        (
            "swap 0.1 eth for usdc then supply usdc to aave",
            "all",
            "Swap 0.1 ETH for USDC on Uniswap V3, then supply all your USDC to Aave V3",
        ),
        (  # the step that asked, not the first: it became "withdraw 1 usdc"
            "withdraw usdc and swap eth to dai",
            "1",
            "Withdraw all your supplied USDC from Aave V3, then swap 1 ETH for DAI on Uniswap V3",
        ),
        (
            f"swap eth for usdc then send it to {WALLET}",
            "0.5",
            f"Swap 0.5 ETH for USDC on Uniswap V3, then send the USDC to {WALLET}",
        ),
    ],
)
def test_a_reply_answers_the_step_of_several_that_asked(
    request_text: str, reply: str, summary: str
) -> None:
    """A question about one step of several was a dead end: "how much USDC do you want to
    supply?" answered "all" was "I don't understand 'all'"."""
    p = planner()
    asked(p, request_text)
    assert p.plan(reply)["summary"] == summary


def test_a_reply_to_a_step_that_is_not_an_answer_is_a_request_of_its_own() -> None:
    p = planner()
    asked(p, "swap 0.1 eth for usdc then supply usdc to aave")
    assert p.plan("borrow 10 dai")["summary"] == "Borrow 10 DAI from Aave V3 at the variable rate"


def test_a_part_of_a_steps_output_is_said_not_asked() -> None:
    """ "supply half of it" cannot take a reply (half of which amount?): "150" was read as
    "supply 150 half of it", an unknown token 'half it'."""
    p = planner()
    said = asked(p, "swap 0.1 eth for usdc then supply half of it")
    assert said.endswith("say the whole request again with one")
    with pytest.raises(IntentError) as caught:
        p.plan("150")
    assert caught.value.code == "unsupported"  # read on its own


def test_each_step_of_several_can_be_asked_about_in_turn() -> None:
    p = planner()
    assert asked(p, "supply usdc then borrow dai") == "How much USDC do you want to supply?"
    assert asked(p, "100") == "How much DAI do you want to borrow?"
    assert p.plan("50")["summary"] == (
        "Supply 100 USDC to Aave V3, then borrow 50 DAI from Aave V3 at the variable rate"
    )
