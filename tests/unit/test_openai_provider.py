"""The LLM parser through a real provider client: langchain-openai's ChatOpenAI, in its default
structured output (json_schema, which the OpenAI SDK parses inside the call), against a local
server that answers as OpenAI's API does from a script (no hosted model is reachable here)."""

from __future__ import annotations

import pytest

from agent.errors import IntentError
from agent.intents.llm import LlmParser, load_model
from agent.intents.planner import IntentPlanner
from agent.intents.rules import ParseContext
from tests.unit.openai_server import scripted_openai


def _answer(amount: str, **step: object) -> dict:
    swap = {
        "action": "swap",
        "protocol": "uniswap-v3",
        "token_in": "ETH",
        "token_out": "USDC",
        "amount": amount,
        "amount_kind": "exact_in",
        "max_slippage_bps": 50,
    }
    plan = {"intent": "-", "summary": "Swap 1 ETH for USDC", "risk": "low"}
    return {"plan": {**plan, "steps": [{**swap, **step}]}, "refusal": None}


def _plan(text: str, script: list, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, list]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    with scripted_openai(script) as (url, server):
        context = ParseContext()
        model = load_model("openai:gpt-4o-mini", url)
        return IntentPlanner(LlmParser(model, context), context).plan(text), server.requests


def test_a_plan_comes_through_the_providers_structured_output(monkeypatch) -> None:
    plan, requests = _plan("swap 1 ETH for USDC", [_answer("1")], monkeypatch)
    assert plan["steps"][0]["amount"] == "1" and plan["intent"] == "swap 1 ETH for USDC"
    assert requests[0]["response_format"]["type"] == "json_schema"


def test_an_answer_the_client_cannot_parse_is_sent_back_once(monkeypatch) -> None:
    """A negative amount fails the schema inside the SDK's own parsing: the model is told why and
    answers again (it was reported as the provider being unreachable, with no retry)."""
    plan, requests = _plan("swap 1 ETH for USDC", [_answer("-1"), _answer("1")], monkeypatch)
    assert plan["steps"][0]["amount"] == "1"
    assert len(requests) == 2
    assert "That answer was invalid" in requests[1]["messages"][-1]["content"]


def test_text_that_is_not_a_plan_twice_is_the_users_error_not_an_outage(monkeypatch) -> None:
    with pytest.raises(IntentError) as caught:
        _plan("swap 1 ETH for USDC", ["I think you should swap.", "{not json"], monkeypatch)
    assert caught.value.code == "unsupported"
    assert "did not produce a valid plan" in caught.value.message


def test_the_headline_is_written_from_the_steps_not_by_the_model(monkeypatch) -> None:
    """A plan that buys 1 ETH with USDC, headlined by the model as 'Swap 1 ETH for USDC'."""
    reversed_plan = _answer("1", token_in="USDC", token_out="ETH", amount_kind="exact_out")
    reversed_plan["plan"]["risk"] = "low"
    plan, _ = _plan("swap 1 ETH for USDC", [reversed_plan], monkeypatch)
    assert plan["summary"] == "Buy 1 ETH with USDC on Uniswap V3"
