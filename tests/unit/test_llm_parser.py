"""The LLM parser behind the planner's seam. A scripted fake chat model replaces the hosted LLM
(none is reachable from test machines); everything else, LangChain's structured output included,
is the real code."""

from __future__ import annotations

import pytest

from agent.errors import ConfigError, IntentError
from agent.intents.llm import LlmParser, load_model
from agent.intents.planner import IntentPlanner
from agent.intents.rules import ParseContext
from tests.unit.fake_llm import ScriptedChatModel


def swap(amount: str, token_in: str = "ETH", token_out: str = "USDC") -> dict:
    return {
        "plan": {
            "intent": "ignored: the parser keeps the user's words",
            "summary": f"Swap {amount} {token_in} for {token_out}",
            "risk": "low",
            "steps": [
                {
                    "action": "swap",
                    "protocol": "uniswap-v3",
                    "token_in": token_in,
                    "token_out": token_out,
                    "amount": amount,
                    "amount_kind": "exact_in",
                    "max_slippage_bps": 50,
                }
            ],
        }
    }


def planner(*script: dict) -> tuple[IntentPlanner, ScriptedChatModel]:
    model = ScriptedChatModel(script=list(script), seen=[])
    context = ParseContext()
    return IntentPlanner(LlmParser(model, context), context), model


def test_valid_plan() -> None:
    """The fake model answers with a valid plan: the user gets it, with their own words as intent."""
    p, model = planner(swap("1"))
    plan = p.plan("swap 1 ETH for USDC")
    assert plan["intent"] == "swap 1 ETH for USDC"
    assert plan["steps"][0]["amount"] == "1"
    system = model.seen[0][0].content
    assert "ETH, WETH, USDC, DAI, WBTC" in system and "Never invent a number" in system


def test_invalid_then_repaired() -> None:
    """A first answer that fails validation goes back to the model with the error; the repaired one wins."""
    broken = swap("1")
    broken["plan"]["steps"][0]["amount"] = "1 ETH"
    p, model = planner(broken, swap("1"))
    assert p.plan("swap 1 eth for usdc")["steps"][0]["amount"] == "1"
    assert len(model.seen) == 2
    assert "That answer was invalid" in model.seen[1][-1].content


def test_invalid_twice_is_an_error() -> None:
    broken = swap("1")
    broken["plan"]["steps"][0]["amount"] = "one"
    p, _ = planner(broken, broken)
    with pytest.raises(IntentError, match="did not produce a valid plan"):
        p.plan("swap 1 eth for usdc")


def test_ungrounded_amount_is_rejected() -> None:
    """A model that invents an amount the user never wrote is caught by the grounding check."""
    p, _ = planner(swap("5"))
    with pytest.raises(IntentError) as caught:
        p.plan("swap some eth for usdc")
    assert caught.value.code == "ungrounded"
    assert "5" in caught.value.message


def test_ungrounded_token_is_rejected() -> None:
    p, _ = planner(swap("1", token_out="DAI"))
    with pytest.raises(IntentError, match="names DAI"):
        p.plan("swap 1 eth for usdc")


def test_refusal_becomes_the_users_question() -> None:
    p, _ = planner({"refusal": {"code": "needs_clarification", "message": "How much ETH?"}})
    with pytest.raises(IntentError) as caught:
        p.plan("swap eth for usdc")
    assert caught.value.code == "needs_clarification" and caught.value.message == "How much ETH?"


def test_conversation_context() -> None:
    """'make it 2 ETH instead' is understood from the earlier request, and the model sees it."""
    p, model = planner(swap("1"), swap("2"))
    p.plan("swap 1 ETH for USDC")
    assert p.plan("make it 2 instead")["steps"][0]["amount"] == "2"
    assert any("swap 1 ETH for USDC" in str(m.content) for m in model.seen[1])


def test_missing_provider_names_the_extra() -> None:
    with pytest.raises(ConfigError) as caught:
        load_model("anthropic:claude-sonnet-4-5")
    assert caught.value.hint == "pip install -e '.[anthropic]'"


def test_unknown_provider() -> None:
    """Named as the model given, from DEFI_AGENT_MODEL or the chat's /model alike."""
    with pytest.raises(ConfigError) as caught:
        load_model("gpt-4o")
    assert caught.value.message == (
        "model 'gpt-4o': use provider:model with provider one of openai, anthropic, ollama"
    )
    assert "/model offline" in (caught.value.hint or "")


def test_a_model_that_cannot_be_reached_is_named_not_an_internal_error() -> None:
    """A provider's own error (the server unreachable, a refused key) was an internal error."""
    p, _model = planner(ConnectionError("Connection error."))
    with pytest.raises(ConfigError) as caught:
        p.plan("swap 1 ETH for USDC")
    assert caught.value.code == "model_unavailable" and caught.value.exit_code == 2
    assert (
        str(caught.value.message) == "the model did not answer: ConnectionError: Connection error."
    )
    assert "unset DEFI_AGENT_MODEL" in (caught.value.hint or "")
