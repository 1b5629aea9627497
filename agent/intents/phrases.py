"""Phrase-level parsing for the rule parser: amounts, token words, slippage, addresses."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from agent.errors import IntentError
from agent.intents.patterns import compiled
from strategies.amounts import MAX_SLIPPAGE_BPS
from strategies.tokens import AMBIGUOUS, DEFAULT_SYMBOLS, resolve_symbol

NUMBER = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+"
_NUMBER = compiled(rf"^(?:{NUMBER})$")
_WORD_AMOUNTS = {
    "all": "max",
    "everything": "max",
    "max": "max",
    "maximum": "max",
    "the max": "max",
    "the maximum": "max",
    "the whole": "max",
    "entire": "max",
    "all of": "max",
    "half": "50%",
    "a half": "50%",
    "half of": "50%",
    "quarter": "25%",
    "a quarter": "25%",
    "a quarter of": "25%",
    "quarter of": "25%",
}
NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}
"""Small amounts people write out: "swap one eth for usdc"."""
_FILLER = {
    "my",
    "the",
    "of",
    "some",
    "your",
    "our",
    "tokens",
    "token",
    "balance",
    "worth",
}
_SLIPPAGE = compiled(
    r"(?:,?\s*(?:with|at|and use|and using|and|using|use)?\s*(?:a\s+)?(?:max(?:imum)?\s+)?slippage(?:\s+tolerance)?\s*(?:of|at|to|=|:)?\s*"
    r"(?:at most\s+|up to\s+|no more than\s+)?(?P<a>\d+(?:[.,]\d+)?)\s*(?P<ua>%|percent|bps|basis points?)"
    r"|,?\s*(?:with|at|and use|and using|and|using|use)?\s*(?:at most|up to|no more than|max(?:imum)?(?: of)?)?\s*(?P<b>\d+(?:[.,]\d+)?)\s*(?P<ub>%|percent|bps|basis points?)\s*(?:max(?:imum)?\s+)?(?:of\s+)?slippage(?:\s+tolerance)?)",
    re.I,
)
_NEGATIVE_SLIPPAGE = compiled(
    r"-\s*\d+(?:\.\d+)?\s*(?:%|percent|bps|basis points?)\s*(?:max(?:imum)?\s+)?(?:of\s+)?slippage"
    r"|slippage(?:\s+tolerance)?\s*(?:of|at|to|=|:)?\s*-\s*\d",
    re.I,
)
_UNITLESS_SLIPPAGE = compiled(
    r"\bslippage(?:\s+tolerance)?\s*(?:of|at|to|=|:)?\s*(?:at most\s+|up to\s+|no more than\s+)?"
    r"(?P<n>\d+(?:[.,]\d+)?)(?![\d.,%])",
    re.I,
)
"""A slippage named without its unit ("slippage 2"), once the ones with a unit are taken out."""
_GLUED = compiled(rf"^(?P<n>{NUMBER})(?P<t>[a-z]+)$")
"""An amount written against its token: "1eth", "2.5wbtc"."""
_THOUSANDS = compiled(rf"^(?P<n>{NUMBER})k$")
"""An amount in thousands: "1k", "2.5k"."""
_DOLLARS_OF = (
    r"(?:\$\s*(?P<a>[\d,.]+k?)|(?P<b>[\d,.]+k?)\s*(?:usd|dollars?|bucks))\s+"
    r"(?:worth(?:\s+of)?|of)\s+"
)
_USD_VALUE = compiled(rf"^{_DOLLARS_OF}(?P<what>.+)$")
"""An amount in dollars of a token: "$100 of eth", "100 usd worth of wbtc"."""
IN_DOLLARS = compiled(rf"{_DOLLARS_OF}(?P<what>[a-z]+)")
"""The same inside a request: what "how much ETH is that?" asks about."""
DOLLAR_TOKENS = ("USDC", "DAI")
"""The dollar stablecoins: "$500 of usdc" is 500 USDC, and "buy $500 of eth with usdc" spends
500 USDC (QA: both asked "how much is that?", and the answer "500 usdc" asked again)."""


def dollars(phrase: str) -> tuple[str, str] | None:
    """A phrase in dollars of a token ("$500 of eth") as its number and token words."""
    usd = _USD_VALUE.match(phrase.strip())
    if usd is None:
        return None
    words = " ".join(w for w in usd.group("what").split() if w not in _FILLER)
    return usd.group("a") or usd.group("b"), words


_MULTIPLE = compiled(
    r"(?<![\w.])(?:(?P<n>\d+(?:\.\d+)?)\s*(?:x|times)|x\s*(?P<m>\d+(?:\.\d+)?)|(?P<w>double|twice|triple))"
    r"(?:\s+(?:it|that|this|the amount|as much))?(?![\w.])"
)
"""A multiple of a plan's amount: "2x", "x3", "1.5 times", "double it", "twice as much"."""
_WORD_MULTIPLES = {"double": 2, "twice": 2, "triple": 3}
ADDRESS = compiled(r"\b0x[0-9a-zA-Z]+\b")
POSITION_WORDS = r"deposits?|positions?|supplies|funds|collateral|debts?|loans?|borrows?|borrowings"
"""What "all my ..." names when it means every position on Aave, not one token."""
_OTHER_PROTOCOLS = compiled(
    r"\b(?P<name>compound|curve|sushi(?:swap)?|balancer|maker(?:dao)?|morpho|spark|yearn|1inch"
    r"|pancake(?:swap)?|gmx|dydx|euler|convex|pendle|venus|radiant|benqi|kamino"
    r"|uniswap\s*v[24]|aave\s*v[12])\b"
)
"""Protocols people name that the agent does not act on: said so, instead of misreading them."""


class Quantity(NamedTuple):
    """An amount phrase: the plan's amount text, or None when the phrase names no amount."""

    amount: str | None
    token_words: str


def multiples(text: str) -> list[tuple[str, Decimal]]:
    """The multiples ``text`` states ("double it" in "no, double it"), each with its words."""
    found = []
    for match in _MULTIPLE.finditer(text):
        factor = Decimal(_WORD_MULTIPLES.get(match["w"] or "") or match["n"] or match["m"])
        if factor > 0:
            found.append((match[0], factor))
    return found


def number(text: str) -> str:
    """A decimal amount as the plan writes it: no thousands separators, no trailing zeros."""
    if not _NUMBER.match(text):
        raise IntentError(
            "invalid_amount",
            f"{text!r} is not a number I can read: write it like 1250.5 or 1,250.5",
        )
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise IntentError("invalid_amount", f"{text!r} is not a number") from None
    if value <= 0:
        raise IntentError("invalid_amount", f"the amount must be more than zero, not {text}")
    if value >= Decimal(10) ** 15:
        raise IntentError("invalid_amount", f"{text} is not a plausible amount")
    normal = format(value.normalize(), "f")
    return normal


def to_bps(value: str, unit: str) -> Decimal:
    """A slippage figure in basis points: ``unit`` is %, percent, bps or basis point(s); a
    decimal comma is a decimal point ("0,3%": QA, it was read as the token "usdc with 0")."""
    scale = 1 if unit.lower().startswith(("bps", "basis")) else 100
    return Decimal(value.replace(",", ".")) * scale


def slippage(text: str) -> tuple[str, int | None]:
    """The text without its slippage phrases, and the slippage in basis points if one was named.
    One slippage applies to every swap of a request: two different ones are asked about."""
    found: list[int] = []
    if negative := _NEGATIVE_SLIPPAGE.search(text):  # QA: read as a token named "usdc with"
        raise IntentError(
            "invalid_amount", f"slippage cannot be negative: {negative.group(0).strip()}"
        )
    for match in _SLIPPAGE.finditer(text):
        bps = to_bps(match.group("a") or match.group("b"), match.group("ua") or match.group("ub"))
        if not 0 < bps <= MAX_SLIPPAGE_BPS or bps != bps.to_integral():
            raise IntentError(  # 0: any trade moves the price, so no swap could be bounded by it
                "invalid_amount",
                "slippage must be a whole number of basis points from 1 bps (0.01%) to 50% "
                f"(5000 bps), not {match.group(0).strip()}",
            )
        found.append(int(bps))
    if len(set(found)) > 1:
        raise IntentError(
            "needs_clarification",
            f"one slippage applies to all the swaps of a request, and this one names "
            f"{' and '.join(f'{b} bps' for b in dict.fromkeys(found))}: name one, or make a "
            "request of each swap",
        )
    rest = _SLIPPAGE.sub("", text).strip(" ,")
    if unitless := _UNITLESS_SLIPPAGE.search(rest):  # QA: read as the token "usdc slippage 2"
        figure = unitless.group("n")
        units = f'"{figure}%" or "{figure} bps"' if figure.isdigit() else f'"{figure}%"'
        raise IntentError("needs_clarification", f"A slippage of {figure} what? Write {units}")
    return rest, found[0] if found else None


def quantity(phrase: str) -> Quantity:
    """Split "1,250.5 usdc", "half of my dai", "50% of my eth", "all my btc", "usdc" into amount
    and token words."""
    usd = dollars(phrase)
    if usd is not None:
        figure, named = usd
        what = resolve_symbol(named, DEFAULT_SYMBOLS) or named
        if what in DOLLAR_TOKENS:
            return quantity(f"{figure} {named}")
        raise IntentError(
            "needs_clarification",
            f"Amounts are in tokens, not dollars: how much {what} is that? Name it in {what}, "
            "or spend a dollar stablecoin (USDC, DAI) instead",
        )
    words = phrase.strip().split()
    if words and words[0] in NUMBER_WORDS:
        words[0] = NUMBER_WORDS[words[0]]
    if words and (thousands := _THOUSANDS.match(words[0])):
        words[0] = format(Decimal(thousands.group("n").replace(",", "")) * 1000, "f")
    elif words and (glued := _GLUED.match(words[0])):
        words[:1] = [glued.group("n"), glued.group("t")]
    amount: str | None = None
    rest = words
    if (
        words
        and (pct := re.fullmatch(r"(\d+(?:\.\d+)?)(%|percent)?", words[0]))
        and (pct.group(2) or (len(words) > 1 and words[1] in ("%", "percent", "pct")))
    ):
        value = Decimal(pct.group(1))
        if not 0 < value <= 100:
            raise IntentError(
                "invalid_amount",
                f"a percentage must be above 0% and at most 100%, not {pct.group(1)}%",
            )
        amount = f"{format(value.normalize(), 'f')}%"
        rest = words[1:] if pct.group(2) else words[2:]
    elif words and re.fullmatch(rf"{NUMBER}|\d[\d,.]*", words[0]):
        amount = number(words[0])
        rest = words[1:]
        if rest[:1] == ["of"] and Decimal(amount) <= 1:
            what = " ".join(w for w in rest if w not in _FILLER) or "it"
            share = format((Decimal(amount) * 100).normalize(), "f")
            raise IntentError(
                "needs_clarification",
                f'"{phrase.strip()}": {amount} {what} or {share}% of it? Write "{amount} {what}" '
                f'or "{share}% of my {what}"',
            )
    else:
        for size in (3, 2, 1):
            head = " ".join(words[:size])
            if head in _WORD_AMOUNTS:
                amount = _WORD_AMOUNTS[head]
                rest = words[size:]
                break
    rest = [w for w in rest if w not in _FILLER]
    return Quantity(amount, " ".join(rest))


def token(words: str, known: tuple[str, ...]) -> str:
    """The symbol ``words`` names; `IntentError` when it names none, or is ambiguous."""
    cleaned = words.strip()
    if not cleaned:
        raise IntentError("needs_clarification", "Which token?")
    if cleaned in AMBIGUOUS:
        raise IntentError("needs_clarification", f"Which one do you mean: {AMBIGUOUS[cleaned]}?")
    symbol = resolve_symbol(cleaned, known)
    if symbol is None:
        head, _, last = cleaned.rpartition(" ")
        named = resolve_symbol(last, known) if head else None
        if named is not None and resolve_symbol(head, known) is None:
            raise IntentError(
                "invalid_amount",
                f"I can't read {head!r} as an amount of {named}: write it like 1250.5 {named}, "
                f"50% of my {named} or all my {named}",
            )
        shown = cleaned.upper() if cleaned.isalnum() else cleaned  # a symbol, as symbols are
        raise IntentError(
            "unknown_token", f"I don't know the token {shown!r}; known tokens: {', '.join(known)}"
        )
    return symbol


def refuse_other_protocols(text: str) -> None:
    """`IntentError` unsupported when ``text`` (lower case) names a protocol the agent does not
    act on: a plan on Aave or Uniswap would not be what was asked for."""
    if other := _OTHER_PROTOCOLS.search(text):
        raise IntentError(
            "unsupported",
            f"{other.group('name')} is not supported here: swaps go through Uniswap V3, "
            "lending and borrowing through Aave V3",
        )
