"""Rich renderings shared by the human-readable outputs of the CLI."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from agent.tui.format import health_factor

if TYPE_CHECKING:
    from tools.portfolio import Portfolio

console = Console()


def usd(value: Decimal) -> str:
    return f"${value:,.2f}"


def amount(value: Decimal) -> str:
    return f"{value:,.6f}".rstrip("0").rstrip(".") if value else "0"


def render_plan(plan: dict[str, Any]) -> None:
    table = Table(title=plan["summary"], title_justify="left")
    for column in ("#", "action", "protocol", "tokens", "amount", "slippage"):
        table.add_column(column)
    for index, step in enumerate(plan["steps"], start=1):
        tokens = (
            f"{step['token_in']} → {step['token_out']}"
            if step["action"] == "swap"
            else step.get("token", "ETH")
        )
        if step["action"] == "transfer":
            tokens += f" → {step['to']}"
        amount_text = step["amount"] + (
            " (exact out)" if step.get("amount_kind") == "exact_out" else ""
        )
        slip = f"{step['max_slippage_bps']} bps" if "max_slippage_bps" in step else ""
        table.add_row(
            str(index), step["action"], step.get("protocol", ""), tokens, amount_text, slip
        )
    console.print(table)
    console.print(f"risk: {plan['risk']}")


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
    hf = "no debt" if p.aave.health_factor is None else health_factor(p.aave.health_factor)
    console.print(
        f"collateral {usd(p.aave.collateral_usd)} · debt {usd(p.aave.debt_usd)} · "
        f"health factor {hf} · net worth {usd(p.net_usd)}"
    )
