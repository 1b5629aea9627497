"""`defi-agent plan TEXT [--json] [--model SPEC]` and `defi-agent plan --schema`.

Most rule-parser requests never reach this command: `agent.cli.quick` answers them before Typer
is imported. Here the planner validates the plan against the schema; web3, LangChain and Textual
are imported only when needed (goal intents read live APYs, and only then connect to the chain, if
one is up).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from agent.errors import BadInput


def plan(
    text: Annotated[str | None, typer.Argument(help="What you want done, in plain words.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the plan (or error) as JSON.")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option("--model", help="provider:model for an LLM parser (default: offline rules)."),
    ] = None,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the plan's JSON Schema and exit.")
    ] = False,
) -> None:
    """Turn a request into a typed plan without touching the chain's state."""
    from strategies.plan import plan_schema

    if schema:
        sys.stdout.write(json.dumps(plan_schema(), indent=2) + "\n")
        return
    if not text:
        raise BadInput(
            'say what you want done, e.g. defi-agent plan "swap 1 ETH for USDC"',
            code="needs_clarification",
        )
    from agent.cli.context import settings
    from agent.cli.quick import print_plan, questions_elsewhere
    from agent.errors import IntentError
    from agent.intents.planner import IntentPlanner, make_parser
    from agent.intents.rules import ParseContext
    from agent.wiring import default_slippage_bps, goal_planner, known_symbols

    s = settings()
    context = ParseContext(
        symbols=known_symbols(s.data_dir),
        default_slippage_bps=default_slippage_bps(s.data_dir, s.policy),
        goals=goal_planner(s.data_dir),
    )
    planner = IntentPlanner(make_parser(model or s.model, s.base_url, context), context)
    try:
        plan = planner.plan(text)
    except IntentError as error:
        raise questions_elsewhere(error, text) from None
    print_plan(plan, as_json)
