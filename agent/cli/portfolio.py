"""`defi-agent portfolio [--json]`: wallet balances in USD, Aave positions and health factor."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def portfolio(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Show the wallet's balances with USD values, its Aave positions and health factor."""
    from agent.cli.context import chain_config, notify, wallet_address
    from tools.chain.plain import Client
    from tools.chain.running import ensure
    from tools.portfolio import read_portfolio

    chain = ensure(chain_config(), notify)
    result = read_portfolio(Client(chain.url), chain.book, wallet_address())
    if as_json:
        typer.echo(json.dumps(result.to_json()))
        return
    from agent.cli.render import render_portfolio

    render_portfolio(result)
