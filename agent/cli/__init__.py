"""The `defi-agent` command line.

`main` is the console entry point. `defi-agent plan TEXT [--json]` on the offline rule parser is
answered by `agent.cli.quick` before Typer or pydantic are imported, in a time close to Python's
own start-up; every other command goes to the Typer app in `agent.cli.app`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from agent.errors import DefiAgentError


def _report(error: DefiAgentError, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(error.to_json()) + "\n")
    else:
        sys.stderr.write(f"error: {error.one_line()}\n")


def main() -> None:
    """Console entry point: maps every `DefiAgentError` to its documented exit code."""
    argv = sys.argv[1:]
    as_json = "--json" in argv
    try:
        from agent.cli import quick

        request = quick.request(argv, os.environ, Path(".env"))
        if request is not None:
            code = quick.answer(request)
        else:
            from agent.cli.app import run

            code = run()
    except DefiAgentError as error:
        _report(error, as_json)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as error:
        sys.exit(_internal_error(error, as_json))
    if code:
        sys.exit(code)


def _internal_error(error: Exception, as_json: bool) -> int:
    """Log the traceback to the data directory and tell the user where, in one line (and, with
    --json, as the one JSON document on stdout)."""
    import tempfile
    import time
    import traceback

    from agent.cli.context import settings

    try:
        logs = settings().data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
    except (DefiAgentError, OSError):
        logs = Path(tempfile.gettempdir())
    path = logs / f"error-{time.strftime('%Y%m%d-%H%M%S')}.log"
    path.write_text("".join(traceback.format_exception(error)))
    message = f"internal error: {type(error).__name__}: {error} (details in {path})"
    sys.stderr.write(message + "\n")
    if as_json:
        sys.stdout.write(json.dumps({"error": {"code": "internal_error", "message": message}}))
        sys.stdout.write("\n")
    return 1
