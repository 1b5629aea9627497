"""The Typer app: every command of `defi-agent`, one sub-module per command group.

Heavy libraries (web3, LangChain, Textual) are imported inside the commands that need them.
"""

from __future__ import annotations

import json
import sys

import typer

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


def run() -> int:
    """Run the command in ``sys.argv``; its exit code. A `DefiAgentError` propagates to the
    entry point, which reports it."""
    _register()
    try:
        code = app(standalone_mode=False)
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:  # Ctrl-C or Ctrl-D at a prompt (a keystore's password)
        sys.stderr.write("\ninterrupted\n")
        return 130
    except typer.TyperException as error:  # a usage error, from the click that typer vendors
        error.show()  # type: ignore[attr-defined]
        if "--json" in sys.argv[1:]:
            message = error.format_message()  # type: ignore[attr-defined]
            sys.stdout.write(
                json.dumps({"error": {"code": "invalid_input", "message": message}}) + "\n"
            )
        return int(error.exit_code)  # type: ignore[attr-defined]
    return code if isinstance(code, int) else 0
