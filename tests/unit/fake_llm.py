"""A scripted chat model standing in for a hosted LLM, which no test machine can reach.

It answers each call with the next scripted tool call, exactly as a provider's structured output
would (or raises the next scripted exception, as a provider that cannot be reached does), and
records the messages it was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field


class ScriptedChatModel(BaseChatModel):
    script: list[Any]
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        return self

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        self.seen.append(list(messages))
        args = self.script.pop(0)
        if isinstance(args, Exception):
            raise args
        message = AIMessage(
            content="",
            tool_calls=[{"name": "Answer", "args": args, "id": f"call_{len(self.seen)}"}],
        )
        return ChatResult(generations=[ChatGeneration(message=message)])
