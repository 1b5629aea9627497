"""The sidebar: wallet balances in USD, Aave positions with APYs and health factor, the session's
spend and expiry, and the chain. It shows a `Snapshot`; the app refreshes it."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from agent.snapshot import Snapshot
from agent.tui.format import amount, health_factor, short, usd


class Sidebar(Static):
    DEFAULT_CSS = """
    Sidebar { width: 32; border-left: solid $primary; padding: 0 1; height: 1fr; }
    """

    snapshot: Snapshot | None = None

    def show(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.update(render(snapshot))

    def show_offline(self, message: str) -> None:
        self.update(Text(f"chain unreachable\n{message}", style="red"))


def _bar(fraction: float, width: int = 28) -> Text:
    filled = round(fraction * width)
    style = "red" if fraction > 0.9 else "yellow" if fraction > 0.6 else "green"
    return Text("█" * filled, style=style) + Text("░" * (width - filled), style="dim")


def render(s: Snapshot) -> Group:
    parts: list[object] = [Text("Wallet", style="bold")]
    wallet = Table.grid(expand=True, padding=(0, 1))
    wallet.add_column()
    wallet.add_column(justify="right")
    wallet.add_column(justify="right")
    for h in s.portfolio.holdings:
        if h.amount:
            wallet.add_row(h.symbol, short(h.amount), usd(h.usd))
    parts += [wallet, Text(f"total {usd(s.portfolio.wallet_usd)}", style="dim"), Text("")]
    parts.append(Text("Aave V3", style="bold"))
    aave = s.portfolio.aave
    apys = {r.symbol: r for r in s.reserves}
    for pos in aave.positions:
        r = apys.get(pos.symbol)
        if pos.supplied:
            parts.append(
                Text(
                    f"{pos.symbol} +{short(pos.supplied)} @ {r.supply_apy:.2%}" if r else pos.symbol
                )
            )
        if pos.borrowed:
            parts.append(
                Text(
                    f"{pos.symbol} -{short(pos.borrowed)} @ {r.borrow_apy:.2%}"
                    if r
                    else pos.symbol,
                    style="yellow",
                )
            )
    if not aave.positions:
        parts.append(Text("no positions", style="dim"))
    hf = "–" if aave.health_factor is None else health_factor(aave.health_factor)
    parts += [Text(f"health factor {hf}"), Text("")]
    parts.append(Text(f"Session {s.session.name}", style="bold"))
    parts.append(Text(f"policy {s.session.policy}", style="dim"))
    if s.session.max_usd_per_tx is not None:
        cap = usd(s.session.max_usd_per_tx).removesuffix(".00")
        parts.append(Text(f"per transaction: ≤ {cap}"))
    for window in s.session.windows:
        used = float(window.used / window.limit) if window.limit else 1.0
        if window.token is None:
            limit = usd(window.limit).removesuffix(".00")  # one line in the sidebar's width
            parts.append(Text(f"{window.label}: {usd(window.used)} / {limit}"))
        else:
            shown = f"{amount(window.used)} / {amount(window.limit)} {window.token}"
            parts.append(Text(f"{window.label}: {shown}"))
        parts.append(_bar(min(used, 1.0)))
    state = s.session.state
    if state == "active":
        parts.append(Text(f"expires in {s.session.time_left}"))
    elif state == "not started":
        parts.append(Text("starts on first execution", style="dim"))
    else:
        parts.append(Text(f"{state}: /session new", style="bold red"))
    parts.append(Text(""))
    parts.append(Text("Chain", style="bold"))
    parts.append(Text(f"{s.profile} · id {s.portfolio.chain_id} · block {s.portfolio.block}"))
    return Group(*parts)
