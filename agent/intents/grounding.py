"""The grounding check, applied to every plan whatever produced it: each amount, percentage, token,
address and slippage value must be traceable to the user's words (after normalising "half",
"a quarter", "all" and token aliases) or be a documented default; otherwise `ungrounded`.

Documented defaults: "max" for a withdraw or repay that names no amount and for a goal ("earn
yield on USDC") that names none; the policy's default slippage; "output:N" for a step that uses what
an earlier step produced ("it", "the USDC"); any token for a withdraw or repay of everything
("withdraw everything from aave", "repay all my debt": each position the chain reports).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from agent.errors import IntentError
from agent.intents.patterns import compiled
from agent.intents.phrases import (
    NUMBER_WORDS,
    POSITION_WORDS,
    multiples,
    refuse_other_protocols,
    slippage,
    to_bps,
)
from strategies.tokens import produced_token, words_for
from tools.chain.address import is_checksum_address

_NUMBER = compiled(
    r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])\d+(?:\.\d+)?|(?<![\w\d])\.\d+"
)
_THOUSANDS = compiled(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)k(?![a-z])")
"""An amount in thousands, as the rule parser reads it: "1k" grounds 1000."""
_NUMBER_WORD = compiled(rf"\b({'|'.join(NUMBER_WORDS)})\b")
_MICRO = Decimal("0.000001")


def _words(*words: str) -> re.Pattern[str]:
    """Any of ``words`` as a whole word: "all" is not in "wallet", nor "half" in "behalf"."""
    return compiled(rf"\b(?:{'|'.join(words)})\b")


_PERCENT_WORDS = {
    "50": _words("half"),
    "25": _words("quarter"),
    "100": _words("all", "everything", "entire", "whole"),
}
_MAX_WORDS = _words("all", "everything", "max", "entire", "whole", "full", "every")
_GOAL_WORDS = _words("yield", "interest", "apy", "earn", "work", "returns")
_PERCENT = compiled(r"(?<![\w.])(\d+(?:\.\d+)?|\.\d+)\s*(?:%|percent\b|pct\b)")
_SLIPPAGE_VALUE = compiled(r"(?<![\w.])(\d+(?:\.\d+)?|\.\d+)\s*(%|percent|bps|basis points?)")
_EVERY_POSITION = compiled(rf"\b(?:everything|(?:all (?:of )?)?(?:my|the) (?:{POSITION_WORDS}))\b")


def _amounts(text: str) -> tuple[set[Decimal], set[Decimal]]:
    """The fixed amounts and the percentages ``text`` (its slippage left out) states: "10%" is
    not 10 of a token, nor "10 eth" 10% of it."""
    percents = {Decimal(value) for value in _PERCENT.findall(text)}
    return _numbers(_PERCENT.sub(" ", text)), percents


def _slippage(text: str) -> tuple[str, int | None]:
    """``text`` without its slippage (in "swap eth to usdc with max 1% slippage" neither "max"
    nor 1 nor 1% is an amount), and the slippage the rule parser reads in it (None for none, or
    two: the parser asks about those)."""
    try:
        return slippage(text)
    except IntentError:
        return text, None


def _numbers(text: str) -> set[Decimal]:
    """The amounts ``text`` states: "1k" is 1000, not 1."""
    found = {Decimal(n.replace(",", "")) * 1000 for n in _THOUSANDS.findall(text)}
    for raw in _NUMBER.findall(_THOUSANDS.sub(" ", text)):
        try:
            found.add(Decimal(raw.replace(",", "")))
        except InvalidOperation:
            continue
    return found | {Decimal(NUMBER_WORDS[w]) for w in _NUMBER_WORD.findall(text)}


def _mentions(text: str, symbol: str) -> bool:
    return any(re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", text) for w in words_for(symbol))


def check(plan: Mapping[str, Any], text: str, default_slippage_bps: int) -> None:
    """Nothing when everything in ``plan`` (its JSON form) comes from ``text`` or a documented
    default; else `IntentError` `ungrounded` (or `invalid_address`) naming the value."""
    lowered = text.lower()
    refuse_other_protocols(lowered)
    amounts, read = _slippage(lowered)
    numbers, percents = _amounts(amounts)
    goal = _GOAL_WORDS.search(lowered) is not None
    produced: list[str | None] = []
    for index, data in enumerate(plan["steps"], start=1):
        for field in ("token", "token_in", "token_out"):
            symbol = data.get(field)
            if symbol is None:
                continue
            carried = data["amount"].startswith("output:") and field in ("token", "token_in")
            every = (
                data["action"] in ("withdraw", "repay")
                and data["amount"] == "max"
                and _EVERY_POSITION.search(lowered) is not None
            )
            if (
                not carried
                and not every
                and not _mentions(lowered, symbol)
                and not (symbol == "WETH" and data["action"] == "wrap")
            ):
                raise IntentError(
                    "ungrounded", f"step {index} names {symbol}, which the request does not mention"
                )
        if data["action"] in ("wrap",) and not _mentions(lowered, "ETH"):
            raise IntentError(
                "ungrounded", f"step {index} wraps ETH, which the request does not mention"
            )
        _check_amount(index, data, amounts, (numbers, percents), goal, produced)
        if "to" in data:
            if data["to"].lower() not in lowered:
                raise IntentError(
                    "ungrounded",
                    f"step {index} sends to {data['to']}, an address the request does not contain",
                )
            if not is_checksum_address(data["to"]):
                raise IntentError("invalid_address", f"{data['to']} is not a checksummed address")
        if "max_slippage_bps" in data and data["max_slippage_bps"] != default_slippage_bps:
            bps = data["max_slippage_bps"]
            if bps not in _stated_slippage(lowered, read):
                raise IntentError(
                    "ungrounded",
                    f"step {index} allows {bps} bps of slippage, which the request does not state",
                )
        produced.append(produced_token(data))


def _stated_slippage(text: str, read: int | None) -> set[int]:
    """The slippages in bps ``text`` may state: ``read``, the one the rule parser reads, or,
    where it reads none, any percentage or bps figure of a text that speaks of slippage. A
    trade's amount ("swap 50 USDC") is never one."""
    if read is not None:
        return {read}
    if "slip" not in text:  # slippage, slip
        return set()
    stated = (to_bps(value, unit) for value, unit in _SLIPPAGE_VALUE.findall(text))
    return {int(bps) for bps in stated if bps == bps.to_integral()}


def _check_amount(
    index: int,
    data: Mapping[str, Any],
    text: str,
    stated: tuple[set[Decimal], set[Decimal]],
    goal: bool,
    produced: list[str | None],
) -> None:
    """``text`` without its slippage; ``stated``: its fixed amounts and percentages."""
    amount = str(data["amount"])
    numbers, percents = stated
    if amount == "max":
        if data["action"] in ("withdraw", "repay") or goal or _MAX_WORDS.search(text):
            return
        raise IntentError(
            "ungrounded",
            f"step {index} uses all of the balance, which the request does not ask for",
        )
    if amount.startswith("output:"):
        n = int(amount.split(":")[1])
        if not 1 <= n < index or produced[n - 1] is None:
            raise IntentError(
                "ungrounded",
                f"step {index} uses the output of step {n}, which produces nothing before it",
            )
        return
    shares = {Decimal(v) for v, words in _PERCENT_WORDS.items() if words.search(text)} | percents
    shares |= {factor * 100 for _, factor in multiples(text)}  # "double it": 200% of the amount
    if amount.endswith("%"):
        value = Decimal(amount[:-1])
        if value in shares or value in _shares(shares, shares):
            return
        raise IntentError(
            "ungrounded", f"step {index} uses {amount}, which the request does not state"
        )
    if Decimal(amount) not in numbers and Decimal(amount) not in _shares(numbers, shares):
        raise IntentError(
            "ungrounded", f"step {index} uses the amount {amount}, which the request does not state"
        )


def _shares(amounts: set[Decimal], percents: set[Decimal]) -> set[Decimal]:
    """Each stated share of each stated amount, rounded down to 6 decimals as a follow-up's is
    ("supply 50 usdc", then "make it half": 25), and shares of those, as far as follow-ups of
    follow-ups go (QA: "make it a quarter", then "make it half", was ungrounded)."""
    found: set[Decimal] = set()
    level = amounts
    for _ in range(3):
        level = {
            (amount * percent / 100).quantize(_MICRO, ROUND_DOWN).normalize()
            for amount in level
            for percent in percents
        }
        found |= level
    return found
