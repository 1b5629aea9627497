"""Answers to questions about the wallet ("what's my health factor?", "how much USDC do I have?"),
written from a `Snapshot` of chain data; None for text that is not such a question."""

from __future__ import annotations

import re
import time

from agent.seams import SessionStatus
from agent.snapshot import Snapshot
from strategies.tokens import resolve_symbol

_HEALTH = re.compile(r"\bhealth\s*factor\b", re.I)
_HOW_MUCH = re.compile(r"^\s*(?:how\s+much|how\s+many)\s+([a-z .]+?)\s+(?:do|have)\s+i\b", re.I)
_BALANCE_OF = re.compile(r"^\s*(?:what(?:'s| is)\s+)?my\s+([a-z .]+?)\s+balance\b", re.I)
_PORTFOLIO = re.compile(
    r"^\s*(?:/?portfolio|(?:show|what(?:'s| is| are))\s+(?:me\s+)?my\s+(?:portfolio|balances|positions))\b",
    re.I,
)
_SESSION = re.compile(
    r"\b(?:allowance|session|spend(?:ing)?\s+limits?|limits|left\s+to\s+spend|can\s+i\s+(?:still\s+)?spend)\b",
    re.I,
)
_RATES = re.compile(
    r"^\s*(?:what(?:'s| is| are)\s+the\s+)?(?:aave\s+)?(?:rates|apys?|yields?|markets)\b", re.I
)


def _money(value: object) -> str:
    return f"${value:,.2f}"


def _amount(value: object) -> str:
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return text or "0"


def looks_like_question(text: str) -> bool:
    """Whether ``text`` may be a question about the wallet rather than a request (`answer` then
    decides, from the chain)."""
    lowered = text.strip().lower()
    return lowered.endswith("?") or lowered.startswith(
        ("what", "how much", "how many", "show", "my ")
    )


def answer(text: str, s: Snapshot) -> str | None:
    if _HEALTH.search(text) and ("?" in text or text.lower().startswith(("what", "show", "my"))):
        return health(s)
    match = _HOW_MUCH.match(text) or _BALANCE_OF.match(text)
    if match:
        symbol = resolve_symbol(match.group(1).strip())
        holding = next((h for h in s.portfolio.holdings if h.symbol == symbol), None)
        if holding is None:
            return f"I don't know the token *{match.group(1).strip()}* on this chain."
        return f"You have **{_amount(holding.amount)} {symbol}** ({_money(holding.usd)})."
    if _PORTFOLIO.match(text):
        return portfolio(s)
    if _RATES.match(text):
        return markets(s)
    if _SESSION.search(text):
        return session(s.session)
    return None


def health(s: Snapshot) -> str:
    aave = s.portfolio.aave
    if aave.health_factor is None:
        return "You have no debt on Aave V3, so no health factor applies."
    return (
        f"Your Aave V3 health factor is **{aave.health_factor:.2f}** (liquidation below 1.00): "
        f"collateral {_money(aave.collateral_usd)}, debt {_money(aave.debt_usd)}."
    )


def portfolio(s: Snapshot) -> str:
    lines = ["| token | balance | value |", "|---|---:|---:|"]
    lines += [
        f"| {h.symbol} | {_amount(h.amount)} | {_money(h.usd)} |"
        for h in s.portfolio.holdings
        if h.amount
    ]
    lines.append(f"| **total** | | **{_money(s.portfolio.wallet_usd)}** |")
    positions = [
        f"- {p.symbol}: supplied {_amount(p.supplied)}, borrowed {_amount(p.borrowed)}"
        for p in s.portfolio.aave.positions
    ]
    return "\n".join([*lines, "", "**Aave V3**", *(positions or ["- no positions"]), "", health(s)])


def markets(s: Snapshot) -> str:
    lines = ["| reserve | supply APY | borrow APY | utilisation |", "|---|---:|---:|---:|"]
    lines += [
        f"| {r.symbol} | {r.supply_apy:.2%} | {r.borrow_apy:.2%} | {r.utilisation:.1%} |"
        for r in s.reserves
    ]
    return "\n".join(lines)


def session(status: SessionStatus) -> str:
    """The session in effect: its policy, what is used and left of each allowance, and whether
    it still authorises anything."""
    head = f"Session **{status.name}** (`{status.id}`, policy {status.policy})"
    state = status.state
    if state in ("revoked", "expired"):
        verb = "was revoked" if state == "revoked" else "has expired"
        return f"{head} {verb}: nothing is signed until you start a new one (`/session new`)."
    if state == "not started":
        head = (
            f"No session yet: the first plan you confirm starts the **{status.name}** session "
            f"(policy {status.policy})"
        )
        expiry = "its clock starts then"
    else:
        left = int(status.expires_at - time.time())
        expiry = f"expires in {left // 3600}h {left % 3600 // 60}m"
    windows = [
        f"- {w.label}: {_money(w.used)} used, {_money(max(w.limit - w.used, 0))} left of "
        f"{_money(w.limit)}"
        for w in status.windows
    ]
    return "\n".join([f"{head}, {expiry}.", *(windows or ["- no spend windows"])])
