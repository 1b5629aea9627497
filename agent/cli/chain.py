"""`defi-agent chain up | down | status | reset | warp DURATION`."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from agent.cli.context import chain_config, notify, settings

app = typer.Typer(
    help="Start, stop, inspect, reset and time-travel the local chain.", no_args_is_help=True
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _describe(chain: object, as_json: bool) -> None:
    from tools.chain.running import RunningChain

    assert isinstance(chain, RunningChain)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "running": True,
                    "profile": chain.profile,
                    "url": chain.url,
                    "pid": chain.pid,
                    "chain_id": chain.chain_id,
                    "book": chain.book.model_dump(),
                }
            )
        )
    else:
        typer.echo(f"{chain.profile} chain {chain.chain_id} at {chain.url} (pid {chain.pid})")


@app.command()
def up(as_json: JsonFlag = False) -> None:
    """Start the chain in the background (the cached devnet, or a fork with profile `fork`)."""
    from tools.chain.running import up as start

    _describe(start(chain_config(), notify), as_json)


@app.command()
def down(as_json: JsonFlag = False) -> None:
    """Stop the chain of this data directory; the devnet keeps its state for the next `up`."""
    from tools.chain.running import down as stop

    stopped = stop(settings().data_dir, chain_config().rpc_url)
    if as_json:
        typer.echo(json.dumps({"stopped": stopped}))
    else:
        typer.echo("chain stopped" if stopped else "no chain was running")


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Say whether the chain is up, and where; exit code 5 when it is not."""
    from agent.errors import ChainUnavailable
    from tools.chain.running import status as read

    chain = read(settings().data_dir)
    if chain is None:
        raise ChainUnavailable("no chain is running", hint="start it with `defi-agent chain up`")
    if as_json:
        _describe(chain, True)
        return
    from tools.chain.plain import Client, head

    number, timestamp = head(Client(chain.url))
    _describe(chain, False)
    typer.echo(f"block {number}, timestamp {timestamp}")


@app.command()
def reset(as_json: JsonFlag = False) -> None:
    """Stop the chain and start it again from its initial state (the cached devnet image). Every
    session begun on it is void from then on: the clock put back must not bring one back to life."""
    from tools.chain.running import discard_state
    from tools.chain.running import down as stop
    from tools.chain.running import up as start

    data_dir = settings().data_dir
    stop(data_dir, chain_config().rpc_url)
    discard_state(data_dir)
    _describe(start(chain_config(), notify), as_json)


@app.command(context_settings={"ignore_unknown_options": True})  # "-1d": a duration, not an option
def warp(
    duration: Annotated[str, typer.Argument(help="How far to move time: 90s, 12h, 30d, 2w, 1y.")],
    as_json: JsonFlag = False,
) -> None:
    """Advance the chain's clock and mine a block, so that interest visibly accrues."""
    from agent.cli.context import chain_config, notify
    from tools.chain.plain import Client
    from tools.chain.running import advance_time, ensure, parse_duration

    seconds = parse_duration(duration)
    chain = ensure(chain_config(), notify)
    timestamp = advance_time(Client(chain.url), seconds)
    if as_json:
        typer.echo(json.dumps({"advanced_seconds": seconds, "timestamp": timestamp}))
    else:
        when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(timestamp))
        typer.echo(f"moved the chain's clock forward by {duration} ({seconds} s); it is now {when}")
