"""`defi-agent do TEXT [--yes] [--dry-run] [--json]`: plan, simulate, ask, execute, report."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from agent.errors import BadInput, IntentError

NOBODY_CONFIRMS = "nobody can confirm here: add --yes to execute, or --dry-run to only simulate"
ONLY_A_TERMINAL = (
    "the session asks a person to confirm plans above its threshold: such a plan is executed "
    "only when answered on a terminal, --yes refuses it"
)
"""QA: "add --yes" was a dead end for such a plan."""


def do(
    text: Annotated[str, typer.Argument(help="What you want done, in plain words.")],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Execute without asking (headless).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Simulate and report; send nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Stream events as JSON Lines.")] = False,
) -> None:
    """Plan a request, simulate it, check the policy and execute it; or answer a question.

    A question about the wallet ("what's my health factor?") is answered from the chain."""
    from agent.answers import CAN_ANSWER, looks_like_question
    from agent.cli.context import service
    from agent.cli.events_out import emit
    from agent.events import Answered, PlanProposed, PolicyDecision, RunFailed, SimulationDone
    from agent.tui.format import on_aave

    if yes and dry_run:
        raise BadInput("--yes executes and --dry-run sends nothing: give one of them")

    if not text.strip():
        raise IntentError("needs_clarification", "What would you like to do?")
    unconfirmed = not (yes or dry_run) and (as_json or not sys.stdin.isatty())
    svc, _chain = service()
    if unconfirmed and not looks_like_question(text):
        # read first: what is wrong with the request is said before asking for --yes (QA: a
        # bad amount was only reported once --yes was added)
        svc.planner.plan(text)
        asks = svc.authorizer.policy().limits.confirm_above_usd is not None
        raise BadInput(NOBODY_CONFIRMS, hint=ONLY_A_TERMINAL if asks else "")
    answer = asyncio.run(svc.answer(text))
    if answer is not None:
        emit(Answered(answer), as_json)
        return
    if unconfirmed:
        raise BadInput(
            f"I cannot answer that from the chain; I answer questions about {CAN_ANSWER}",
            code="unsupported",
            hint="to act instead, add --yes to execute or --dry-run to only simulate",
        )

    aave = ""  # what the plan moves on Aave, as simulated: said with what it did to the wallet

    async def propose() -> tuple[str | None, int]:
        nonlocal aave
        plan_id, plan = None, {}
        async for event in svc.propose(text):
            emit(event, as_json)
            if isinstance(event, PlanProposed):
                plan = event.plan
            if isinstance(event, SimulationDone):
                aave = on_aave(plan, event)
            if isinstance(event, RunFailed):
                return None, event.exit_code
            if isinstance(event, PolicyDecision):
                plan_id = event.plan_id
        return plan_id, 0

    async def execute(plan_id: str, asked: bool) -> int:
        async for event in svc.execute(plan_id, human_confirmed=asked):
            emit(event, as_json, aave)
            if isinstance(event, RunFailed):
                return event.exit_code
        return 0

    plan_id, code = asyncio.run(propose())
    if code:
        raise typer.Exit(code)
    assert plan_id is not None
    asked = not yes
    answer = _confirm() if asked and not dry_run else True
    if dry_run or not answer:
        done = svc.discard(plan_id, dry_run=dry_run)
        assert done is not None
        emit(done, as_json, aave)
        if answer is None:
            raise typer.Exit(130)
        return
    try:
        code = asyncio.run(execute(plan_id, asked))
    except KeyboardInterrupt:
        message = (
            f"interrupted while executing plan {plan_id}: what was signed is in the journal "
            f"(`defi-agent journal`); `defi-agent resume {plan_id}` finishes it without sending "
            "anything twice"
        )
        if as_json:
            emit(RunFailed(plan_id, "interrupted", message, 130), as_json)
        sys.stderr.write(message + "\n")
        code = 130
    if code:
        raise typer.Exit(code)


def _confirm() -> bool | None:
    """The person's answer at the prompt, None for Ctrl-C or Ctrl-D (then the plan is discarded,
    exit 130). Asked outside the event loop: inside it the first Ctrl-C only flagged the loop,
    and the second ended the command as an internal error (exit 1), the plan left simulated."""
    try:
        return typer.confirm("Execute this plan?", default=False)
    except typer.Abort:
        sys.stderr.write("\n")
        return None
