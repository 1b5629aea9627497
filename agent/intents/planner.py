"""The planner the core service uses: a parser (rules by default, an LLM when configured), the
plan schema and the grounding check, returning DESIGN.md's plan JSON.

Parsers produce a plan's JSON; it is validated here, once, against `StrategyPlan`, then grounded
in the user's words, whatever produced it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Protocol

from agent.errors import IntentError, Refused
from agent.intents.amend import WHICH_AMOUNT, chosen, every_pick, example_pick
from agent.intents.grounding import check
from agent.intents.patterns import compiled
from agent.intents.phrases import slippage
from agent.intents.reply import answered
from agent.intents.rules import ParseContext, Plan, RuleParser, StepQuestion
from strategies.plan import StrategyPlan

HISTORY = 6


class IntentParser(Protocol):
    def parse(self, text: str, history: Sequence[tuple[str, Plan]] = ()) -> Plan: ...


_AGAIN = compiled(
    r"(?:please\s+)?(?:(?:try|do|plan|propose|make)(?:\s+(?:it|that|this))?\s+again|retry|again"
    r"|once\s+more)(?:\s+please)?[.!]*"
)
"""A request for the last plan again."""
_EVERY = compiled(r"(?:(?:the\s+)?both(?:\s+of\s+them)?|all(?:\s+of\s+them)?|each(?:\s+one)?)[.!]?")
"""An answer to "which amount should change?" that picks every one."""


def asks_again(text: str) -> bool:
    """Whether ``text`` asks for the last plan again ("try again", "retry", "do it again")."""
    return _AGAIN.fullmatch(" ".join(text.lower().split())) is not None


class IntentPlanner:
    """Owns the conversation: parsers are stateless, and a plan is grounded in everything the user
    said in the last few requests (so "make it 2 ETH instead" may reuse the earlier token)."""

    def __init__(
        self,
        parser: IntentParser,
        context: ParseContext,
        default_slippage: Callable[[], int] | None = None,
    ) -> None:
        self.parser = parser
        self.context = context
        self.default_slippage = default_slippage
        """The active session's default slippage, read before each request (sessions change)."""
        self.history: list[tuple[str, Plan]] = []
        self.asked: str | None = None
        """The last request, when it got a question back: the next may answer it."""
        self.question = ""
        """The question it got back."""
        self.asked_step: tuple[tuple[str, ...], int] | None = None
        """Of a request of several steps, its steps as said and the one the question is about."""

    def plan(self, text: str) -> Plan:
        """The plan for ``text``: the last plan again for "try again", else ``text`` read as an
        answer to a question asked, or as a request."""
        if asks_again(text):
            return self._again(text)
        return self._answer_or_plan(text)

    def _again(self, text: str) -> Plan:
        """The last plan made again, built afresh when it is proposed (QA: a plan that failed
        on its passed deadline said "propose it again", and "try again" was not understood).
        A slippage none of its requests named is the default of the session in effect now: it
        may be a new session's (QA: "try again" after /session new kept the old default)."""
        if not self.history:
            raise IntentError(
                "needs_clarification", "There is no earlier request here to try again: say it"
            )
        self.asked = None
        plan = copy.deepcopy(self.history[-1][1])
        said = self.history[-(HISTORY + 1) :]
        if self.default_slippage is not None and all(slippage(t)[1] is None for t, _ in said):
            default = self.context.default_slippage_bps = self.default_slippage()
            for step in plan["steps"]:  # the default of the session in effect now (QA)
                if "max_slippage_bps" in step:
                    step["max_slippage_bps"] = default
        self.history.append((text, plan))
        return plan

    def _answer_or_plan(self, text: str) -> Plan:
        """The plan for ``text``; when the last request got a question back ("How much ETH?"),
        for ``text`` as its answer if it reads as one (`answered`), else on its own. A question
        about the answer is carried on ("send usdc", "5", then the address)."""
        asked, self.asked = self.asked, None
        combined = answered(asked, text) if asked is not None else None
        if combined is None and asked is not None and self.asked_step is not None:
            steps, index = self.asked_step  # "swap 0.1 eth for usdc then supply usdc", "all"
            part = answered(steps[index], text)
            if part is not None:
                combined = " then ".join([*steps[:index], part, *steps[index + 1 :]])
        which = asked is not None and self.question.startswith(WHICH_AMOUNT)
        if combined is None and which:
            steps = self.history[-1][1]["steps"]
            if asked and _EVERY.fullmatch(" ".join(text.lower().split())):
                picks = every_pick(steps, self.context.symbols)
                if picks:
                    return self._each(asked, picks)
            symbol = chosen(text, steps, self.context.symbols)
            combined = f"{asked} {symbol}" if symbol is not None else None
        if combined is not None:
            text = combined  # its errors are the answer's: "0" is not "I don't understand '0'"
        try:
            return self._plan(text)
        except IntentError as error:
            if which and combined is None and error.code == "unsupported":
                self.asked = asked  # not a request, nor a step of the plan: asked again (QA)
                example = example_pick(self.history[-1][1]["steps"])
                raise IntentError(
                    "needs_clarification",
                    f"{self.question.split('?')[0]}? Answer with the step's token or action, "
                    f'e.g. "{example}".',
                ) from None
            if error.code == "needs_clarification" and not isinstance(error, Refused):
                self.asked, self.question = text, error.message
                self.asked_step = (
                    (error.steps, error.index) if isinstance(error, StepQuestion) else None
                )
            raise

    def _each(self, asked: str, picks: list[str]) -> Plan:
        """``asked`` (a follow-up that fits several steps) applied to each of them in turn; the
        plan of the last is the plan of them all."""
        plan: Plan = {}
        for pick in picks:
            plan = self._plan(f"{asked} {pick}")
        return plan

    def forget(self, plan: Plan) -> None:
        """A plan being edited: the request put back is read again against the plans before it
        (QA: "half", edited and sent unchanged, halved the halved plan)."""
        self.history = [(t, p) for t, p in self.history if p is not plan]

    def _plan(self, text: str) -> Plan:
        if self.default_slippage is not None:
            self.context.default_slippage_bps = self.default_slippage()
        recent = self.history[-HISTORY:]
        plan = StrategyPlan.model_validate(self.parser.parse(text, recent)).to_json()
        said = " ".join([*(t for t, _ in recent), text])
        check(plan, said, self.context.default_slippage_bps)
        self.history.append((text, plan))
        return plan


def make_parser(model: str | None, base_url: str | None, context: ParseContext) -> IntentParser:
    """The offline rule parser when ``model`` is None, else the LLM parser for ``provider:model``."""
    if model is None:
        return RuleParser(context)
    from agent.intents.llm import LlmParser, load_model

    return LlmParser(load_model(model, base_url), context)
