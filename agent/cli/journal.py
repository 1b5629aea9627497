"""`defi-agent journal [--json]` and `defi-agent resume PLAN_ID`."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from agent.journal import Journal, PlanRecord

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def journal(
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1_000_000, help="How many plans, newest first.")
    ] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The newest plans (20 unless --limit says), their status and transactions."""
    from agent.cli.context import settings
    from agent.journal import Journal

    book = Journal(settings().data_dir)
    rows = []
    for plan in book.plans(limit):
        txs = [
            {
                "step": t.step,
                "index": t.idx,
                "label": t.call.label,
                "status": t.status,
                "tx_hash": t.tx_hash,
                "error": t.error,
            }
            for t in book.txs(plan.id)
        ]
        rows.append(
            {
                "id": plan.id,
                "created_at": plan.created_at,
                "intent": plan.intent,
                "summary": plan.plan.get("summary", ""),
                "described": plan.described,
                "status": plan.status,
                "error": plan.error,
                "txs": txs,
            }
        )
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    from rich.markup import escape

    from agent.cli.render import console

    if not rows:
        console.print("the journal is empty")
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["created_at"]))
        console.print(
            f"[bold]{row['id']}[/bold]  {when}  {row['status']:<10} {escape(row['described'])}"
            + (f"  [red]{escape(row['error'])}[/red]" if row["error"] else "")
        )
        for tx in row["txs"]:
            sent = tx["tx_hash"]
            short = f"{sent[:10]}…{sent[-8:]}" if sent else ""
            console.print(
                f"    {tx['step']}.{tx['index'] + 1} {tx['status']:<10} {short:<19} {tx['label']}"
            )
    if rows:
        console.print("[dim]full transaction hashes: defi-agent journal --json[/dim]")
    total = book.plan_count()
    if total > len(rows):  # QA: 20 shown of 129, unsaid
        console.print(f"[dim]the newest {len(rows)} of {total} plans: --limit N for more[/dim]")


def resume(
    plan_id: Annotated[str, typer.Argument(help="The plan to finish (see `defi-agent journal`).")],
    as_json: JsonFlag = False,
) -> None:
    """Finish an interrupted plan without re-sending what was already sent."""
    from agent.cli.context import service
    from agent.cli.events_out import emit
    from agent.events import RunDone, RunFailed
    from agent.tui.format import moved_on_aave

    svc, _ = service()
    record = _resumable(svc.journal, plan_id)
    plan_id = record.id
    if record.status == "done" and not as_json:  # as JSON: its RunDone, nothing changed now
        typer.echo(f"plan {plan_id} was already done: nothing to resume, nothing sent")
        return

    async def run() -> int:
        async for event in svc.resume(plan_id):
            aave = ""  # what the plan moved on Aave, said with its wallet's changes when done
            if isinstance(event, RunDone) and not as_json:
                aave = moved_on_aave(record.plan, svc.simulated_moves(plan_id))
            emit(event, as_json, aave)
            if isinstance(event, RunFailed):
                return event.exit_code
        return 0

    code = asyncio.run(run())
    if code:
        raise typer.Exit(code)


def _resumable(journal: Journal, given: str) -> PlanRecord:
    """The plan ``given`` names (its id or the start of it); errors before any event, as every
    command's (QA: `resume --json` streamed them)."""
    from agent.errors import BadInput

    matches = journal.starting_with(given.strip()) if given.strip() else []
    if len(matches) > 1:
        raise BadInput(
            f"{given!r} is the start of {len(matches)} plans' ids",
            hint="give more of the id (`defi-agent journal`)",
        )
    if not matches:
        raise BadInput(f"the journal has no plan {given!r}", code="unknown_plan")
    return matches[0]
