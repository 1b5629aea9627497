"""`defi-agent run FILE [--dry-run] [--json] [--restart]` and `defi-agent strategies validate | list`.

Ctrl-C once: the entry in flight is finished, the run stops and is recorded as interrupted (exit
130); running the same file again continues it. Ctrl-C twice: the transaction in flight is abandoned
where it stands; the journal holds its hash if it was signed, so the next run finishes it without
sending it again.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Scripted strategy files: validate them, list them.", no_args_is_help=True)
FileArg = Annotated[
    Path, typer.Argument(help="A strategy file (YAML), or a shipped example's name (dca-eth, ...).")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def run(
    file: FileArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Simulate one iteration now; send nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Stream events as JSON Lines.")] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Abandon this file's unfinished run; start anew.")
    ] = False,
) -> None:
    """Carry out a strategy file under a session's limits, headless."""
    from agent.cli.context import service, settings
    from agent.runner.runner import Runner
    from agent.runner.store import RunStore
    from agent.textfile import read_text_file
    from strategies.script.model import find_strategy, parse_strategy

    file = find_strategy(file)
    text = read_text_file(file, "strategy")  # once: the run is of the text parsed
    strategy = parse_strategy(text, str(file))
    svc, _chain = service()
    store = RunStore(settings().data_dir)
    runner = Runner(
        svc,
        store,
        strategy,
        file,
        text,
        dry_run=dry_run,
        restart=restart,
        block_seconds=settings().block_seconds,
    )
    view = _JsonView() if as_json else _HumanView(strategy.name)
    code = asyncio.run(_drive(runner, view))
    store.close()
    if code:
        raise typer.Exit(code)


_STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def _drive(runner: Any, view: Any) -> int:
    from agent.runner.events import EntryStarted, StrategyDone, StrategyStarted, Waiting

    task = asyncio.current_task()
    assert task is not None
    waiting = False

    def interrupt() -> None:
        if runner.stopping:
            task.cancel()
            return
        runner.stop()
        if waiting:  # QA: "after the step in flight" while nothing was
            view.note("stopping: nothing is in flight")
        else:
            view.note("stopping after the step in flight (Ctrl-C again to abandon it)")

    loop = asyncio.get_running_loop()
    for stop in _STOPS:  # Ctrl-C, `kill`, `timeout`, a closed terminal: stop as for Ctrl-C
        loop.add_signal_handler(stop, interrupt)
    code, run_id, iterations = 1, "", 0
    try:
        with view:
            async for event in runner.run():
                view.show(event)
                waiting = isinstance(event, Waiting)
                if isinstance(event, StrategyStarted):
                    run_id, iterations = event.run_id, event.iteration
                elif isinstance(event, EntryStarted):
                    iterations = event.iteration - 1
                elif isinstance(event, StrategyDone):
                    code = event.exit_code
    except asyncio.CancelledError:
        message = "abandoned; the journal holds what was sent: run the same file again to finish it"
        view.show(StrategyDone(run_id, "interrupted", iterations, message, 130))
        return 130
    finally:
        for stop in _STOPS:
            loop.remove_signal_handler(stop)
    return code


class _JsonView:
    def __enter__(self) -> _JsonView:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def note(self, message: str) -> None:
        sys.stderr.write(message + "\n")

    def show(self, event: Any) -> None:
        from agent.cli.events_out import emit

        emit(event, True)


class _HumanView:
    """Rich progress: a bar over the iterations, the current step or wait as its description, and
    every plan, verdict and transaction printed above it."""

    def __init__(self, name: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

        from agent.cli.render import console

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[name]}[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("starting", total=None, name=name)
        self.iteration = 0
        """The iteration under way, or the last one done while the next is waited for."""
        self.failed: Any = None
        """An entry's failure, printed unless the run's end, which says it too, comes next."""
        self.plan: dict[str, Any] = {}
        self.aave = ""
        """What the entry's plan moves on Aave, as simulated: said with what it did to the wallet
        (QA: "swap 1 ETH to USDC then supply it" would have made "-1 ETH", the USDC unsaid)."""

    def __enter__(self) -> _HumanView:
        self.progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()

    def note(self, message: str) -> None:
        self.progress.console.print(f"[yellow]{message}[/yellow]")

    def show(self, event: Any) -> None:
        from rich.console import Console
        from rich.markup import escape

        from agent.cli.events_out import emit
        from agent.events import PlanProposed, PolicyDecision, RunFailed, SimulationDone
        from agent.runner import events as ev
        from agent.tui.format import on_aave

        console = self.progress.console
        failed, self.failed = self.failed, None
        if failed is not None and not isinstance(event, ev.StrategyDone):
            emit(failed, False)
        if isinstance(event, RunFailed):
            self.failed = event
        elif isinstance(event, ev.StrategyStarted):
            self.progress.update(self.task, total=event.count, completed=event.iteration)
            self.iteration = event.iteration
            done = f"after {event.iteration} done" if event.iteration else "where it stopped"
            again = f", continuing {done}" if event.resumed else ""  # QA: "after 0 done"
            console.print(f"[bold]{event.name}[/bold] under session {event.session}{again}")
            if event.previous:
                console.print(f"[yellow]note[/yellow]: {event.previous}")
        elif isinstance(event, ev.EntryStarted):
            self.iteration = event.iteration
            self.progress.update(
                self.task, completed=event.iteration - 1, description=escape(event.description)
            )
            retry = f" (attempt {event.attempt})" if event.attempt > 1 else ""
            console.print(
                f"[bold]{event.iteration}.{event.entry}[/bold] {escape(event.description)}{retry}"
            )
        elif isinstance(event, ev.EntrySkipped):
            self.iteration = event.iteration
            console.print(
                f"[dim]{event.iteration}.{event.entry} skipped: {escape(event.reason)}[/dim]"
            )
        elif isinstance(event, ev.Waiting):
            done = {"completed": self.iteration} if event.reason == "interval" else {}  # QA: 0/3
            self.progress.update(self.task, description=f"waiting {escape(event.detail)}", **done)
            console.print(f"[dim]waiting {escape(event.detail)}[/dim]")
        elif isinstance(event, PolicyDecision) and event.allowed:
            left = event.remaining.get("spend.windows")
            rules = f"  [green]✓[/green] all {len(event.verdicts)} policy rules pass"
            console.print(rules + (f"; {left}" if left else ""))
            if event.needs_confirmation:
                console.print(
                    "  [yellow]above the session's threshold for a human's confirmation: a run "
                    "cannot ask for one and refuses this plan[/yellow]"
                )
        elif isinstance(event, ev.StrategyDone):
            self.progress.update(self.task, completed=event.iterations)
            self.progress.stop()  # its line cleared first (QA: the end was glued to the bar's)
            status = event.status.replace("_", " ")
            if event.exit_code == 0:
                console.print(f"[green]{status}[/green]: {escape(event.message)}")
            else:  # where every command says what went wrong
                Console(stderr=True).print(f"[red]{status}[/red]: {escape(event.message)}")
        else:
            if isinstance(event, PlanProposed):
                self.plan, self.aave = event.plan, ""
            elif isinstance(event, SimulationDone):
                self.aave = on_aave(self.plan, event)
            emit(event, False, self.aave)


def validate(file: FileArg, as_json: JsonFlag = False) -> None:
    """Check a strategy file: its fields, guards and steps, with the line of the first problem."""
    from agent.cli.context import settings
    from policies.model import find_policy, load_policy
    from policies.sessions import lifetime
    from strategies.script.model import find_strategy, load_strategy

    file = find_strategy(file)
    strategy = load_strategy(file)
    if strategy.session is not None and strategy.session.policy is not None:
        lifetime(
            strategy.session.ttl, load_policy(find_policy(strategy.session.policy, file.parent))
        )
    if settings().model is None:
        _parse_intents(strategy, file)
    if as_json:
        sys.stdout.write(json.dumps({"valid": True, **strategy.model_dump(mode="json")}) + "\n")
        return
    from agent.cli.render import console

    repeat = strategy.repeat
    every = f", every {repeat.every}" if repeat else ""
    times = f", {repeat.count} times" if repeat and repeat.count else ""
    until = f", until {repeat.until}" if repeat and repeat.until else ""
    console.print(
        f"[green]valid[/green]: {strategy.name}: {len(strategy.steps)} step(s){every}{times}{until}"
    )


def _parse_intents(strategy: Any, file: Path) -> None:
    """Each entry's words as the offline rule parser reads them when the run gets to them: one it
    cannot read is bad input now, not a failed run later. Goals and "everything on Aave" read
    the chain then; here they only need to parse."""
    from agent.errors import BadInput, IntentError
    from agent.intents.rules import ParseContext, RuleParser
    from strategies.tokens import DEFAULT_SYMBOLS

    parser = RuleParser(
        ParseContext(goals=lambda *_: {}, positions=lambda: (DEFAULT_SYMBOLS, DEFAULT_SYMBOLS))
    )
    for index, entry in enumerate(strategy.steps, start=1):
        intent = getattr(entry, "intent", None)
        if intent is None:
            continue
        try:
            parser.parse(intent)
        except IntentError as error:
            raise BadInput(
                f"{file}: step {index} ({intent!r}): {error.message}", code=error.code
            ) from None


def list_strategies(as_json: JsonFlag = False) -> None:
    """The example strategies shipped with defi-agent, and this data directory's recent runs."""
    from agent.cli.context import settings
    from agent.runner.store import RunStore
    from strategies.script.model import load_strategy, shipped

    examples = [(path, load_strategy(path)) for path in shipped()]
    store = RunStore(settings().data_dir)
    runs = store.runs()
    store.close()
    if as_json:
        body = {
            "examples": [
                {"name": s.name, "description": s.description, "path": str(p)} for p, s in examples
            ],
            "runs": [
                {
                    "id": r.id,
                    "name": r.name,
                    "path": r.path,
                    "status": r.shown_status,
                    "iterations": r.iteration,
                    "error": r.error,
                }
                for r in runs
            ],
        }
        sys.stdout.write(json.dumps(body) + "\n")
        return
    from rich.table import Table

    from agent.cli.render import console

    table = Table(title="Example strategies", title_justify="left")
    for column in ("name", "description", "file"):
        table.add_column(column)
    for path, strategy in examples:
        table.add_row(strategy.name, strategy.description, str(path))
    console.print(table)
    if runs:
        done = Table(title="Runs in this data directory", title_justify="left")
        for column in ("run", "strategy", "status", "iterations", "file"):
            done.add_column(column)
        for r in runs:
            done.add_row(r.id, r.name, r.shown_status, str(r.iteration), r.path)
        console.print(done)


app.command("validate")(validate)
app.command("list")(list_strategies)
