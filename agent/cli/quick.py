"""`defi-agent plan TEXT [--json]` on the offline rule parser, answered before Typer, pydantic and
pydantic-settings are imported: together they take about fifteen times Python's own start-up, and
a plan from the rule parser needs none of them.

A request is answered here only when the Typer app could not answer it differently:

- the arguments are exactly `plan`, the request (not starting with ``-``) and at most `--json`;
- no model is configured: `DEFI_AGENT_MODEL` is in neither the environment nor `.env`;
- every other `DEFI_AGENT_` setting that is present has a value the settings accept as written
  (non-empty; `DEFI_AGENT_PROFILE` local or fork; `DEFI_AGENT_DATA_DIR` a directory that is
  or can be made; no `DEFI_AGENT_FORK_BLOCK`, `DEFI_AGENT_POLICY` or `DEFI_AGENT_BLOCK_SECONDS`),
  so the Typer path would not refuse it;
- `.env`, if there is one, holds only blank lines, comments and plain ``KEY=value`` lines (no
  quotes, ``$``, ``#`` or backslashes in the value), which every dotenv reader reads alike.

Anything else goes to the Typer app (`agent.cli.plan`), whose planner validates the plan against
`StrategyPlan`. This path prints the rule parser's plan as the parser makes it: the parser's tests
check that each of its plans is exactly what the schema makes of it, field order included, and
the CLI tests compare both paths on the same requests.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from agent.datadir import data_dir_problem

if TYPE_CHECKING:
    from agent.errors import IntentError

PREFIX = "defi_agent_"
_ANY_VALUE = {
    "base_url",
    "rpc_url",
    "data_dir",
    "private_key",
    "keystore",
    "keystore_password",
}
_FIELDS = {*_ANY_VALUE, "model", "profile", "fork_block", "policy", "block_seconds"}
"""Every setting. One not in `_ANY_VALUE`, when present, sends the request to the Typer app,
which validates it: `policy` must name a policy file (whose default slippage a plan takes),
`block_seconds` a number."""
_PLAIN_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^\s\"'#$\\]*)$")
DEFAULT_DATA_DIR = Path(".defi-agent")


class Request(NamedTuple):
    text: str
    as_json: bool
    data_dir: Path


def request(argv: list[str], environ: Mapping[str, str], dotenv: Path) -> Request | None:
    """The `plan` request this module can answer, or None when the Typer app must."""
    if len(argv) not in (2, 3) or argv[0] != "plan":
        return None
    flags = [a for a in argv[1:] if a.startswith("-")]
    words = [a for a in argv[1:] if not a.startswith("-")]
    if len(words) != 1 or flags not in ([], ["--json"]) or not words[0].strip():
        return None
    settings = _dotenv(dotenv)
    if settings is None:
        return None
    settings.update(_prefixed(environ))
    if not _plain(settings):
        return None
    data_dir = Path(settings.get("data_dir", DEFAULT_DATA_DIR))
    if data_dir_problem(data_dir) is not None:
        return None
    return Request(words[0], bool(flags), data_dir)


def _prefixed(variables: Mapping[str, str]) -> dict[str, str]:
    """The settings among ``variables``, by field name: matched without regard to case, as
    pydantic-settings does; names that are no setting are ignored, as there."""
    found = {}
    for name, value in variables.items():
        lowered = name.lower()
        if lowered.startswith(PREFIX) and lowered[len(PREFIX) :] in _FIELDS:
            found[lowered[len(PREFIX) :]] = value
    return found


def _dotenv(path: Path) -> dict[str, str] | None:
    """The settings in ``path`` (none when it does not exist); None when a line is not plain."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError):
        return None
    pairs = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _PLAIN_LINE.match(stripped)
        if match is None:
            return None
        pairs[match.group(1)] = match.group(2)
    return _prefixed(pairs)


def _plain(settings: Mapping[str, str]) -> bool:
    for field, value in settings.items():
        if field not in _ANY_VALUE and not (field == "profile" and value in ("local", "fork")):
            return False
        if not value:
            return False
    return True


def answer(request: Request) -> int:
    """Plan ``request`` with the rule parser and print it; a `DefiAgentError` for the entry
    point to report otherwise."""
    from agent.errors import IntentError
    from agent.intents.grounding import check
    from agent.intents.rules import ParseContext, RuleParser
    from agent.wiring import default_slippage_bps, goal_planner, known_symbols

    context = ParseContext(
        symbols=known_symbols(request.data_dir),
        default_slippage_bps=default_slippage_bps(request.data_dir, None),
        goals=goal_planner(request.data_dir),
    )
    try:
        plan = RuleParser(context).parse(request.text)
    except IntentError as error:
        raise questions_elsewhere(error, request.text) from None
    check(plan, request.text, context.default_slippage_bps)
    print_plan(plan, request.as_json)
    return 0


def questions_elsewhere(error: IntentError, text: str) -> IntentError:
    """``error``, with a hint saying where questions are answered when ``text`` reads as one:
    `plan` makes plans (QA: "what's my health factor?" was told to start with swap, buy, ...)."""
    from agent.answers import looks_like_question

    if not error.hint and looks_like_question(text):
        error.hint = (
            'plan makes plans: ask a question with `defi-agent do "QUESTION"`, or in the chat'
        )
    return error


def print_plan(plan: dict[str, Any], as_json: bool) -> None:
    """The plan on stdout: one JSON document, or a table for people."""
    if as_json:
        sys.stdout.write(json.dumps(plan) + "\n")
        return
    from agent.cli.render import render_plan

    render_plan(plan)
