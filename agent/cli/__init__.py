"""The `defi-agent` command line: one Typer app, one sub-module per command group.

Heavy libraries (web3, LangChain, Textual) are imported inside the commands that need them, so that
`defi-agent plan` on the rule-parser path starts close to Python's own start-up time.
"""

from __future__ import annotations

import json
import sys

import click
import typer

from agent.errors import DefiAgentError

app = typer.Typer(
    name="defi-agent",
    help="Natural-language DeFi execution: typed plans, simulation, a policy engine, anvil.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from agent.cli import (
        chain,
        chat,
        demo,
        do,
        journal,
        plan,
        portfolio,
        run,
        serve_mcp,
        session,
    )

    app.add_typer(chain.app, name="chain")
    app.command("portfolio")(portfolio.portfolio)
    app.command("demo")(demo.demo)
    app.command("chat")(chat.chat)
    app.command("plan")(plan.plan)
    app.command("do")(do.do)
    app.command("journal")(journal.journal)
    app.command("resume")(journal.resume)
    app.add_typer(session.app, name="session")
    app.command("audit")(session.audit)
    app.command("run")(run.run)
    app.add_typer(run.app, name="strategies")
    app.command("mcp")(serve_mcp.mcp)


def _report(error: DefiAgentError, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(error.to_json()) + "\n")
    else:
        sys.stderr.write(f"error: {error.one_line()}\n")


def main() -> None:
    """Console entry point: maps every `DefiAgentError` to its documented exit code."""
    _register()
    as_json = "--json" in sys.argv[1:]
    try:
        code = app(standalone_mode=False)
    except DefiAgentError as error:
        _report(error, as_json)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(1)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except Exception as error:
        sys.exit(_internal_error(error))
    if isinstance(code, int) and code:
        sys.exit(code)


def _internal_error(error: Exception) -> int:
    """Log the traceback to the data directory and tell the user where, in one line."""
    import tempfile
    import time
    import traceback
    from pathlib import Path

    from agent.cli.context import settings

    try:
        logs = settings().data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
    except (DefiAgentError, OSError):
        logs = Path(tempfile.gettempdir())
    path = logs / f"error-{time.strftime('%Y%m%d-%H%M%S')}.log"
    path.write_text("".join(traceback.format_exception(error)))
    sys.stderr.write(f"internal error: {type(error).__name__}: {error} (details in {path})\n")
    return 1
