"""Answers to questions about the wallet ("what's my health factor?", "how much USDC do I have?"),
written from a `Snapshot` of chain data; None for text that is not such a question."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from agent.errors import BadInput
from agent.seams import SessionStatus
from agent.snapshot import Snapshot
from agent.tui.format import health_factor
from strategies.amounts import suggested
from strategies.tokens import resolve_symbol, same_asset

if TYPE_CHECKING:
    from policies.model import Policy
    from tools.aave_v3.reads import Position, Reserve

_HEALTH = re.compile(
    r"\bhealth\s*factor\b|\bliquidat(?:ion|ed)\b(?!\s+(?:thresholds?|bonus))|\bltv\b"
    r"|\bloan[\s-]+to[\s-]+value\b",
    re.I,
)
"""The health factor, and what it answers: how close liquidation is, the loan-to-value."""
_GAS = re.compile(r"\bgas\b|\bgwei\b|\bnetwork\s+fees?\b", re.I)
_HISTORY = re.compile(
    r"^\s*(?:show\s+(?:me\s+)?)?(?:my\s+)?(?:history|past\s+plans|(?:plan|transaction|trade)\s+history"
    r"|(?:what|which\s+plans?)\s+(?:have\s+i|did\s+i)\s+(?:done|do|run|executed?|made|make))\b",
    re.I,
)
_BORROWABLE = re.compile(
    r"^\s*how\s+much\s+(?:more\s+)?(?:[a-z]+\s+)?(?:can|could)\s+i\s+(?:still\s+)?borrow"
    r"(?:\s+(?:in|of)\s+[a-z]+)?\s*\??$"
    r"|\bborrowing\s+power\b",
    re.I,
)
_WITHDRAWABLE = re.compile(
    r"^\s*how\s+much\s+(?:more\s+)?(?:(?P<token>[a-z]+)\s+)?(?:can|could)\s+i\s+(?:still\s+)?"
    r"(?:withdraw|take\s+out)(?:\s+from\s+aave(?:\s+v3)?)?\s*\??$",
    re.I,
)
_WORTH = re.compile(
    r"^\s*(?:what(?:'s|\s+is)|how\s+much\s+is)\s+my\s+(?!net\b|wallet\b)([a-z .]+?)\s+worth\b",
    re.I,
)
_HOW_MUCH = re.compile(
    r"^\s*(?:how\s+much|how\s+many)\s+([a-z .]+?)\s+(?:do\s+i\s+(?:have|hold|own)|have\s+i\s+got)\b",
    re.I,
)
_EARN = re.compile(
    r"^\s*(?:what|how\s+much)\s+(?:can|could|would|will|do)\s+i\s+(?:earn|make)\s+(?:on|by|from|with|lending|supplying)\b"
    r"(?!.*\b(?:if|after|once)\b)",
    re.I,
)
"""What supplying would earn ("what can I earn on DAI?"): Aave's rates answer it, "would"
included (not a question about a plan's outcome, unless it says "if")."""
_WHAT_IF = re.compile(r"\b(?:if|after|once|would)\b", re.I)
WHAT_IF = (
    "I answer from the chain as it is now. To see what a plan would do (balances, health factor "
    "after each step, the session's verdict), ask for it as a request and dry-run it: "
    '`d` on its card, or `defi-agent do "REQUEST" --dry-run`, e.g. "swap 1 ETH for USDC".'
)
_ON_AAVE = re.compile(
    r"\s*(?:borrowed|supplied|deposited|lent|owed|in\s+debt|(?:on|in|at)\s+aave)\b", re.I
)
"""After "how much X do I have": the question is about the Aave position, not the wallet."""
_BALANCE_OF = re.compile(r"^\s*(?:what(?:'s| is)\s+)?my\s+([a-z .]+?)\s+balance\b", re.I)
_PORTFOLIO = re.compile(
    r"^\s*(?:/?portfolio|(?:show|what(?:'s| is| are))\s+(?:me\s+)?my\s+(?:portfolio|balances?|positions))\b",
    re.I,
)
_SESSION = re.compile(
    r"\b(?:allowance|session|spend(?:ing)?\s+limits?|limits|left\s+to\s+spend|can\s+i\s+(?:still\s+)?spend)\b",
    re.I,
)
_RATES = re.compile(
    r"\bliquidation\s+thresholds?\b"
    r"|^\s*(?:what(?:'s| is| are)\s+the\s+)?(?:aave\s+)?(?:rates|apys?|yields?|markets)\b"
    r"|\baave(?:'s)?\s+(?:rates|apys?|yields|markets)\b"
    r"|\b(?:supply|borrow|deposit|lending|interest)\s+(?:rates?|apys?)\b|\b(?:apys?|rates)\s+(?:for|on|of)\b",
    re.I,
)
_CONVERT = re.compile(
    r"^\s*(?:how\s+much|what)\s+(?:is|are)\s+(?P<amount>\d+(?:\.\d+)?)\s+(?P<a>[a-z]+)\s+"
    r"(?:(?:in|worth\s+in|to)\s+(?P<b>[a-z]+)|worth)\b",
    re.I,
)
"""A conversion ("how much is 2 ETH in USDC?"), or without ``b`` a value ("... 2 ETH worth?")."""
_PRICES = (
    re.compile(r"\bprice\s+of\s+(?:an?\s+|one\s+)?([a-z]+)", re.I),
    re.compile(r"\b([a-z]+)(?:'s)?\s+price\b", re.I),
    re.compile(
        r"\b(?:what(?:'s| is)|how\s+much\s+is)\s+(?:an?\s+|one\s+)?([a-z]+)\s+worth\b", re.I
    ),
)
_IN_TOKEN = re.compile(r"\s+(?:in\s+(?:terms\s+of\s+)?|to\s+)([a-z]+)", re.I)
"""The token a price is asked in, right after the one priced ("the price of ETH in DAI")."""
_USD = frozenset({"usd", "dollars", "dollar", "us"})
_NET_WORTH = re.compile(
    r"\bnet\s*worth\b|\bhow\s+much\s+(?:am\s+i|is\s+my\s+wallet)\s+worth\b"
    r"|^\s*what(?:'s|\s+is)\s+my\s+wallet\s+worth\b|\bvalue\s+of\s+my\s+(?:wallet|portfolio)\b",
    re.I,
)
_POSITIONS = re.compile(
    r"\b(?:aave\s+)?positions?\b|\bmy\s+(?:[a-z]+\s+)?(?:debts?|loans?|deposits?|collateral)\b"
    r"|\bwhat\s+(?:have\s+i|did\s+i|do\s+i\s+have)\s+(?:supplied|borrowed|lent)\b"
    r"|\b(?:do\s+i\s+owe|have\s+i\s+(?:supplied|borrowed|deposited|lent)|did\s+i\s+(?:supply|borrow|deposit|lend))\b",
    re.I,
)
_HELP = re.compile(r"^\s*(?:help|what\s+can\s+(?:i|you)\s+do|what\s+do\s+you\s+do)\b", re.I)
_INTEREST = re.compile(r"\binterest\b|\b(?:earned|accrued|owe\s+in\s+interest)\b", re.I)
_NOT_TOKENS = frozenset({"gas", "the", "a", "an", "it", "that", "this", "swap", "my"})
"""Words after "price of" that are not a token someone asks the price of."""
CAN_ANSWER = (
    'balances ("how much USDC do I have?"), prices ("what\'s the price of ETH?"), Aave positions, '
    "how much Aave would lend or let you withdraw, health factor and loan-to-value, interest, net "
    "worth, Aave's rates, the gas price and the session's allowance"
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
    return (
        lowered.endswith("?")
        or lowered.startswith(
            ("what", "how much", "how many", "show", "my ", "price of", "am i ", "is my ")
        )
        or (lowered.startswith(("aave", "liquidation")) and _RATES.search(lowered) is not None)
        or _HELP.match(lowered) is not None
    )


def asks_gas(text: str) -> bool:
    """Whether ``text`` asks about the gas price: `answer` needs `Snapshot.gas_price_wei` then."""
    return _GAS.search(text) is not None and looks_like_question(text)


def answer(text: str, s: Snapshot) -> str | None:
    """The answer to ``text`` from ``s``, or None when it is not a question answered here; a
    question about a token the chain does not have is `BadInput`."""
    if _EARN.match(text):
        return markets(s)
    if _WHAT_IF.search(text) and looks_like_question(text):
        return WHAT_IF
    if _HEALTH.search(text) and looks_like_question(text):
        return health(s)
    if asks_gas(text):
        return gas(s)
    if _HISTORY.match(text):  # the journal's, which no snapshot holds
        return "Your plans and how each ended: **/journal** in the chat, `defi-agent journal` in a shell."
    if _INTEREST.search(text) and looks_like_question(text):  # QA: after /warp, a dead end
        return interest(s)
    if _BORROWABLE.search(text):
        return borrowable(s)
    if match := _WITHDRAWABLE.match(text):
        return withdrawable(s, match.group("token"))
    match = _HOW_MUCH.match(text) or _BALANCE_OF.match(text) or _WORTH.match(text)
    if match and _ON_AAVE.match(text, match.end()):  # "how much DAI do I have borrowed?"
        return positions(s)
    if match:
        symbol = resolve_symbol(match.group(1).strip())
        holding = next((h for h in s.portfolio.holdings if h.symbol == symbol), None)
        if holding is None:
            raise _unknown(match.group(1).strip(), s)
        return f"You have **{_amount(holding.amount)} {symbol}** ({_money(holding.usd)})."
    if _HELP.match(text):
        return (
            "Tell me what to do in plain words: swap, buy or sell tokens on Uniswap V3; supply, "
            "withdraw, borrow or repay on Aave V3; send, wrap or unwrap. Steps chain with "
            '"then" ("swap 1 ETH to USDC then supply it to aave"); goals work too ("earn '
            'yield on my USDC"). Every plan is simulated and checked against your session '
            f"before anything is signed. I also answer questions about {CAN_ANSWER}."
        )
    if _PORTFOLIO.match(text):
        return portfolio(s)
    if _RATES.search(text):
        return markets(s)
    if _SESSION.search(text):
        return session(s.session)
    if match := _CONVERT.match(text):
        return _conversion(s, match.group("amount"), match.group("a"), match.group("b"))
    for pattern in _PRICES:
        if (match := pattern.search(text)) and (symbol := resolve_symbol(match.group(1))):
            quoted = _IN_TOKEN.match(text, match.end())
            if quoted and quoted.group(1).lower() not in _USD:
                return _conversion(s, "1", symbol, quoted.group(1))
            return f"{symbol} is **{_money(s.portfolio.prices[symbol])}** (Aave V3's oracle)."
    if (match := _PRICES[0].search(text)) and match.group(1).lower() not in _NOT_TOKENS:
        raise _unknown(match.group(1), s)
    if _NET_WORTH.search(text):
        return net_worth(s)
    if _POSITIONS.search(text):
        return positions(s)
    return None


def borrowable(s: Snapshot) -> str:
    """What Aave would lend against the collateral now: its limit, not the session's."""
    aave = s.portfolio.aave
    if not aave.collateral_usd:
        return "You have no collateral on Aave V3, so nothing to borrow against: supply first."
    said = (
        f"Aave V3 would lend **{_money(aave.available_borrow_usd)}** more against your collateral "
        f"({_money(aave.collateral_usd)}), up to its loan-to-value limit."
    )
    floor = s.session.min_health_factor
    if floor is None or not aave.liquidation_threshold:
        return said
    # the health factor after borrowing d USD: collateral x threshold / (debt + d)
    room = aave.collateral_usd * aave.liquidation_threshold / floor - aave.debt_usd
    room = max(Decimal(0), min(room, aave.available_borrow_usd)).quantize(
        Decimal("0.01"), ROUND_DOWN
    )
    if room < aave.available_borrow_usd:
        said += (
            f" The session's policy keeps the health factor at or above {floor} after a borrow: "
            f"that allows about **{_money(room)}** now (less as prices move against you)."
        )
    return said


_BASIS_POINT = Decimal("0.0001")


def withdrawable(s: Snapshot, word: str | None) -> str:
    """What can be withdrawn now of each position supplied on Aave (of ``word``'s token alone,
    if given): all of it when no debt stands against it; else what keeps the health factor at
    the session's floor after the withdraw, and at 1, below which Aave itself refuses it."""
    symbol = None if word is None else resolve_symbol(word)
    if word is not None and symbol is None:
        raise _unknown(word, s)
    held = [
        p
        for p in s.portfolio.aave.positions
        if p.supplied and (symbol is None or same_asset(p.symbol, symbol))
    ]
    if not held:
        return (
            f"You have {f'no {symbol}' if symbol else 'nothing'} supplied on Aave V3 to withdraw."
        )
    return "\n".join(
        [
            "What you can withdraw from Aave V3 now (less as prices move against you):",
            *(_withdrawable(s, p) for p in held),
        ]
    )


def _withdrawable(s: Snapshot, p: Position) -> str:
    """The health factor after withdrawing ``w`` of ``p`` is (collateral x its weighted threshold
    - w x price x the reserve's threshold) / debt, when ``p`` backs the debt."""
    aave, reserve = s.portfolio.aave, next((r for r in s.reserves if r.symbol == p.symbol), None)
    most, said = p.supplied, f"- {p.symbol}: supplied {_amount(p.supplied)}"
    there = None if reserve is None else reserve.total_supplied - reserve.total_borrowed
    if there is not None and there < most:
        most = max(Decimal(0), there)
        said += f" (the pool lends out the rest: {_amount(most)} is there to withdraw)"
    if not aave.debt_usd or not p.collateral:
        why = "no debt" if not aave.debt_usd else "it is not collateral for your debt"
        return f"{said}; **{_amount(most)} {p.symbol}** can be withdrawn ({why})."
    price = s.portfolio.prices.get(p.symbol)
    if reserve is None or not reserve.liquidation_threshold or not price:
        return (
            f"{said}; how much keeps your health factor is not known here (no price or threshold)."
        )
    # Aave rounds the collateral's weighted threshold down to a basis point once the withdraw
    # has changed it: counted at a basis point less, the amount named is never above the floor
    # (QA: the amount named came to 1.4999 and was denied).
    backing = aave.collateral_usd * (aave.liquidation_threshold - _BASIS_POINT)

    def keeping(floor: Decimal) -> Decimal:
        room = (backing - floor * aave.debt_usd) / (reserve.liquidation_threshold * price)
        return suggested(max(Decimal(0), min(most, room)))

    said += f"; Aave allows about {_amount(keeping(Decimal(1)))} {p.symbol} (health factor 1)"
    floor = s.session.min_health_factor
    if floor is not None and floor > 1:
        said += (
            f", the session's policy about **{_amount(keeping(floor))} {p.symbol}** (it keeps the "
            f"health factor at or above {floor} after a withdraw)"
        )
    return said + "."


def _unknown(word: str, s: Snapshot) -> BadInput:
    """A question about a token the chain does not have: bad input, as in a request (exit 2,
    `unknown_token`; QA: the CLI answered it with exit 0)."""
    return BadInput(
        f"I don't know the token {word!r} on this chain",
        code="unknown_token",
        hint=f"Aave V3's oracle prices {', '.join(s.portfolio.prices)}",
    )


def _conversion(s: Snapshot, amount: str, a: str, b: str | None) -> str:
    """``amount`` of ``a`` in ``b`` at the oracle's prices; in USD without ``b``."""
    for word in (a, b):
        if word is not None and resolve_symbol(word) is None:
            raise _unknown(word, s)
    have, prices = str(resolve_symbol(a)), s.portfolio.prices
    value = Decimal(amount) * prices[have]
    if b is None:
        return f"{_amount(Decimal(amount))} {have} is worth **{_money(value)}** at Aave V3's oracle price."
    want = str(resolve_symbol(b))
    value /= prices[want]
    return (
        f"At Aave V3's oracle prices, {amount} {have} is **{_amount(value)} {want}**. A swap gets "
        f'less by the pool\'s fee and price impact: "swap {amount} {have} to {want}" shows the '
        "quote and simulates it before anything is signed."
    )


_REFERENCE_GAS = 100_000
"""A unit the gas price is also told in: about what a swap or an Aave supply uses."""


def gas(s: Snapshot) -> str:
    """In gwei and ETH exactly, however small (a fork of a quiet chain charges a fraction of a
    gwei): 6 decimals would call it 0."""
    assert s.gas_price_wei is not None, "a snapshot read for a question about gas"
    per_unit = Decimal(s.gas_price_wei).scaleb(-9).normalize()
    eth = Decimal(s.gas_price_wei * _REFERENCE_GAS).scaleb(-18).normalize()
    policy = s.session.parsed
    cap = None if policy is None else policy.limits.max_fee_eth
    capped = (
        ""
        if cap is None
        else f" The session allows at most {_amount(cap)} ETH of it a transaction."
    )
    return (
        f"Gas costs **{per_unit:,f} gwei** a unit on this chain now (the next block's base "
        f"fee and tip): {_REFERENCE_GAS:,} gas, about what a swap or an Aave supply uses, costs "
        f"{eth:,f} ETH ({_money(eth * s.portfolio.prices['ETH'])}). Each plan's card shows "
        "the network fee of its own transactions, from its simulation, before anything is signed."
        + capped
    )


def net_worth(s: Snapshot) -> str:
    aave = s.portfolio.aave
    total = s.portfolio.wallet_usd + aave.collateral_usd - aave.debt_usd
    return (
        f"Your net worth is **{_money(total)}**: wallet {_money(s.portfolio.wallet_usd)}, "
        f"Aave V3 collateral {_money(aave.collateral_usd)}, debt {_money(aave.debt_usd)}."
    )


def interest(s: Snapshot) -> str:
    """Interest is not kept apart: Aave's balances grow with it, at the rates shown."""
    held = s.portfolio.aave.positions
    if not held:
        return "You have no positions on Aave V3, so nothing earns or owes interest."
    rates = {r.symbol: r for r in s.reserves}
    lines = []
    for p in held:
        rate = rates.get(p.symbol)
        if p.supplied:
            apy = f" at {rate.supply_apy:.2%} APY" if rate else ""
            lines.append(f"- {p.symbol}: supplied {_amount(p.supplied)}{apy}")
        if p.borrowed:
            apy = f" at {rate.borrow_apy:.2%} APY" if rate else ""
            lines.append(f"- {p.symbol}: borrowed {_amount(p.borrowed)}{apy}")
    return "\n".join(
        [
            "I don't keep the interest apart: on Aave V3 it is in the balances, which grow as it "
            "accrues (supplied: earned; borrowed: owed). Now, interest included:",
            *lines,
        ]
    )


def positions(s: Snapshot) -> str:
    held = s.portfolio.aave.positions
    if not held:
        return "You have no positions on Aave V3."
    return "\n".join(["**Aave V3**", *_positions(s), "", health(s)])


def health(s: Snapshot) -> str:
    aave = s.portfolio.aave
    if aave.health_factor is None:
        return "You have no debt on Aave V3, so no health factor applies."
    return (
        f"Your Aave V3 health factor is **{health_factor(aave.health_factor)}** (liquidation "
        "below 1.00): "
        f"collateral {_money(aave.collateral_usd)}, debt {_money(aave.debt_usd)}"
        + (
            f" (loan-to-value {aave.debt_usd / aave.collateral_usd:.1%})."
            if aave.collateral_usd
            else "."
        )
    )


def portfolio(s: Snapshot) -> str:
    lines = ["| token | balance | value |", "|---|---:|---:|"]
    lines += [
        f"| {h.symbol} | {_amount(h.amount)} | {_money(h.usd)} |"
        for h in s.portfolio.holdings
        if h.amount
    ]
    lines.append(f"| **total** | | **{_money(s.portfolio.wallet_usd)}** |")
    return "\n".join(
        [
            *lines,
            "",
            "**Aave V3**",
            *(_positions(s) or ["- no positions"]),
            "",
            health(s),
            net_worth(s),  # QA: the sidebar it stands in for below 100 columns had more
        ]
    )


def _positions(s: Snapshot) -> list[str]:
    """A line per Aave position, with the APYs it earns and pays, as the sidebar shows them."""
    rates = {r.symbol: r for r in s.reserves}
    return [
        f"- {p.symbol}: supplied {_amount(p.supplied)}, borrowed {_amount(p.borrowed)}"
        + _rates(p.supplied, p.borrowed, rates.get(p.symbol))
        for p in s.portfolio.aave.positions
    ]


def _rates(supplied: Decimal, borrowed: Decimal, reserve: Reserve | None) -> str:
    if reserve is None:
        return ""
    said = [f"earning {reserve.supply_apy:.2%}"] if supplied else []
    said += [f"paying {reserve.borrow_apy:.2%}"] if borrowed else []
    return f" ({', '.join(said)} APY)" if said else ""


def markets(s: Snapshot) -> str:
    lines = [
        "| reserve | supply APY | borrow APY | utilisation | liquidation threshold |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.symbol} | {r.supply_apy:.2%} | {r.borrow_apy:.2%} | {r.utilisation:.1%} "
        f"| {r.liquidation_threshold:.0%} |"
        for r in s.reserves
    ]
    return "\n".join(lines)


def session(status: SessionStatus) -> str:
    """The session in effect: its policy, what is used and left of each allowance, and whether
    it still authorises anything."""
    head = f"Session **{status.name}** (`{status.id}`, policy {status.policy})"
    state, verb = status.state, status.ended
    if verb is not None:
        return (
            f"{head} {verb}: nothing is signed until you start a new one (`/session new` in the "
            "chat, `defi-agent session new` in a shell)."
        )
    if state == "not started":
        head = (
            f"No session yet: the first plan you confirm starts the **{status.name}** session "
            f"(policy {status.policy})"
        )
        expiry = "its clock starts then"
    else:
        expiry = f"expires in {status.time_left}"
    windows = [
        f"- {w.label}: {_money(w.used)} used, {_money(max(w.limit - w.used, 0))} left of "
        f"{_money(w.limit)}"
        if w.token is None
        else f"- {w.label}: {_amount(w.used)} {w.token} used, "
        f"{_amount(max(w.limit - w.used, 0))} {w.token} left of {_amount(w.limit)} {w.token}"
        for w in status.windows
    ]
    policy = status.parsed
    if policy is None:
        return "\n".join([f"{head}, {expiry}.", *(windows or ["- no spend windows"])])
    caps = [_money(policy.limits.max_usd_per_tx)]
    caps += [f"{_amount(cap)} {symbol}" for symbol, cap in policy.limits.max_per_tx.items()]
    return "\n".join(
        [
            f"{head}, {expiry}.",
            f"- per transaction: at most {', '.join(caps)}",
            *(windows or ["- no spend windows"]),
            *_limits(policy, status.transactions),
        ]
    )


def _limits(policy: Policy, transactions: int) -> list[str]:
    """The session's other limits, each a line (QA: a token cap, the health floor and the
    confirmation threshold were first met in a denial)."""
    limits, allow = policy.limits, policy.allow
    slippage = policy.slippage
    lines = [
        f"- slippage: at most {Decimal(slippage.max_bps) / 100}% "
        f"({Decimal(slippage.default_bps) / 100}% when a request names none)",
        "- health factor after a borrow or withdraw: at least "
        f"{policy.health.min_after_borrow_or_withdraw}",
    ]
    if limits.confirm_above_usd is not None:
        lines.append(f"- plans above {_money(limits.confirm_above_usd)} need your confirmation")
    if limits.max_fee_eth is not None:
        lines.append(f"- network fee: at most {_amount(limits.max_fee_eth)} ETH a transaction")
    if limits.max_txs is not None:
        used = min(transactions, limits.max_txs)
        lines.append(f"- transactions: {used} of {limits.max_txs} used")
    actions = ", ".join(allow.actions) or "nothing"
    lines.append(
        f"- allows {actions} on {', '.join(allow.protocols) or 'no protocol'}, with "
        f"{', '.join(allow.tokens) or 'no token'}"
    )
    return lines
