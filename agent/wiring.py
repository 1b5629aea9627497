"""Build the real collaborators of the core service from the settings: the one place that knows
which parser, policy engine and signer are in use."""

from __future__ import annotations

import json
from pathlib import Path

from strategies.plan import StrategyPlan
from strategies.tokens import DEFAULT_SYMBOLS


def known_symbols(data_dir: Path) -> tuple[str, ...]:
    """The tokens of the running chain's address book (read without importing web3), or the
    devnet's when no chain is recorded."""
    try:
        book = json.loads((data_dir / "chain.json").read_text())["book"]
    except (OSError, ValueError, KeyError):
        return DEFAULT_SYMBOLS
    return ("ETH", *book["tokens"])


class ChainMarkets:
    """Live supply APY and utilisation from the chain, for goal strategies."""

    def __init__(self, url: str, book: object) -> None:
        from tools.chain.rpc import connect

        self.w3 = connect(url)
        self.book = book

    def supply_market(self, protocol: str, token: str):
        from strategies.goals import Market
        from tools.aave_v3.reads import reserve

        if protocol != "aave-v3":
            return None
        r = reserve(self.w3, self.book, token)  # type: ignore[arg-type]
        return Market(r.supply_apy, r.utilisation)


def goal_planner(data_dir: Path):
    """Plans goal intents with live rates when a chain is up, by tier otherwise."""

    def plan(token: str, amount: str | None, risk: str, intent: str) -> StrategyPlan:
        from strategies.goals import plan_yield
        from tools.chain.running import status

        chain = status(data_dir)
        reader = ChainMarkets(chain.url, chain.book) if chain is not None else None
        return plan_yield(token, amount, risk, intent, reader)

    return plan
