"""Rich renderings shared by the human-readable outputs of the CLI."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from tools.portfolio import Portfolio

console = Console()


def usd(value: Decimal) -> str:
    return f"${value:,.2f}"


def amount(value: Decimal) -> str:
    return f"{value:,.6f}".rstrip("0").rstrip(".") if value else "0"


def render_portfolio(p: Portfolio) -> None:
    wallet = Table(title=f"Wallet {p.wallet} (chain {p.chain_id}, block {p.block})")
    wallet.add_column("token")
    wallet.add_column("balance", justify="right")
    wallet.add_column("price", justify="right")
    wallet.add_column("value", justify="right")
    for h in p.holdings:
        wallet.add_row(h.symbol, amount(h.amount), usd(p.prices[h.symbol]), usd(h.usd))
    wallet.add_row("total", "", "", usd(p.wallet_usd), style="bold")
    console.print(wallet)
    aave = Table(title="Aave V3")
    aave.add_column("reserve")
    aave.add_column("supplied", justify="right")
    aave.add_column("borrowed", justify="right")
    for pos in p.aave.positions:
        aave.add_row(pos.symbol, amount(pos.supplied), amount(pos.borrowed))
    if not p.aave.positions:
        aave.add_row("no positions", "", "")
    console.print(aave)
    hf = "no debt" if p.aave.health_factor is None else f"{p.aave.health_factor:.2f}"
    console.print(
        f"collateral {usd(p.aave.collateral_usd)} · debt {usd(p.aave.debt_usd)} · "
        f"health factor {hf} · net worth {usd(p.net_usd)}"
    )
