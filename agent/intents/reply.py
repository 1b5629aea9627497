"""A reply to the agent's question: "How much ETH do you want to swap?" answered "0.1", "Which
address should receive the USDC?" answered "to 0x...". The reply and the request it answers are
read as one request: "swap eth to usdc" and "0.1" are "swap 0.1 eth to usdc".
"""

from __future__ import annotations

import re

from agent.intents.phrases import NUMBER, NUMBER_WORDS
from agent.intents.rules import PAYING, TOWARDS, one_step

_AMOUNT = re.compile(
    r"^(?P<amount>\d+(?:\.\d+)?\s*(?:%|percent)"
    rf"|(?:{NUMBER})k?|{'|'.join(NUMBER_WORDS)}|all|max|everything|half|a quarter)"
    r"(?:\s*(?P<symbol>[a-z]+))?$"
)
_ADDRESS = re.compile(r"^(?:to\s+)?(?P<address>0x[0-9a-fA-F]{40})$")
_TARGET = re.compile(r"^(?:to|for|into)\s+[a-z ]+$")
_IN_DOLLARS = re.compile(
    r"(?:\$\s*[\d,.]+k?|[\d,.]+k?\s*(?:usd|dollars?|bucks))\s+(?:worth(?:\s+of)?|of)\s+"
    r"(?P<what>[a-z]+)"
)
"""An amount in dollars of a token inside a request: what "how much ETH is that?" asks about."""
_PAY_WITH = re.compile(r"^(?:with\s+|using\s+)?(?P<symbol>[a-z]+)$")


def answered(request: str, reply: str) -> str | None:
    """The request ``request`` with ``reply`` put where it answers it, or None when ``reply`` is
    not an amount, an address or a token to swap into, or ``request`` is of several steps (which
    step would it answer?): it is then a request of its own. An amount goes to what is spent:
    "buy eth with usdc" and "100" are "buy eth with 100 usdc"."""
    step = one_step(request)
    if step is None:
        return None
    kind, verb, rest = step
    reply = " ".join(reply.lower().split())
    if usd := _IN_DOLLARS.search(rest):
        return _in_tokens(kind, verb, rest, usd, reply)
    if address := _ADDRESS.match(reply):
        return f"{verb} {rest} to {address.group('address')}"
    if _TARGET.match(reply):
        return f"{verb} {rest} {reply}"
    amount = _AMOUNT.match(reply)
    if amount is None:
        return None
    value, symbol = amount.group("amount"), amount.group("symbol")
    if kind == "buy":
        paying = PAYING.fullmatch(rest)
        if paying is None:
            return None  # "buy eth": what it is paid with is the question
        bought, prep, paid = paying.group("dst", "prep", "src")
        if symbol and not re.search(rf"\b{symbol}\b", paid):
            return None
        return f"{verb} {bought} {prep} {value} {paid}"
    if symbol and not re.search(rf"\b{symbol}\b", TOWARDS.split(rest)[0]):
        return None  # "100 dai" for a question about ETH: a request of its own, or a mistake
    return f"{verb} {value} {rest}"


def _in_tokens(kind: str, verb: str, rest: str, usd: re.Match[str], reply: str) -> str | None:
    """A request in dollars ("buy $500 of eth") with the reply to "how much ETH is that?": an
    amount of the token ("0.2 eth", "0.2") in place of the dollars, or, for a purchase, a
    dollar stablecoin to pay with ("500 usdc", "with usdc") (QA: "500 usdc", the answer the
    question suggests, asked the same question again)."""
    what = usd.group("what")
    amount = _AMOUNT.match(reply)
    if amount is not None and amount.group("symbol") in (None, what):
        return f"{verb} {rest[: usd.start()]}{amount.group('amount')} {what}{rest[usd.end() :]}"
    if kind != "buy" or rest[usd.end() :].strip():
        return None
    if amount is not None:
        return f"{verb} {what} with {amount.group('amount')} {amount.group('symbol')}"
    paid = _PAY_WITH.match(reply)
    return None if paid is None else f"{verb} {rest} with {paid.group('symbol')}"
