"""A reply to the agent's question: "How much ETH do you want to swap?" answered "0.1", "Which
address should receive the USDC?" answered "to 0x...". The reply and the request it answers are
read as one request: "swap eth to usdc" and "0.1" are "swap 0.1 eth to usdc".
"""

from __future__ import annotations

import re

from agent.intents.phrases import NUMBER, NUMBER_WORDS

_AMOUNT = re.compile(
    rf"^(?:(?:{NUMBER})k?|{'|'.join(NUMBER_WORDS)}|all|half|a quarter|\d+(?:\.\d+)?\s*%)(?:\s+[a-z]+)?$"
)
_ADDRESS = re.compile(r"^(?:to\s+)?(?P<address>0x[0-9a-fA-F]{40})$")
_TARGET = re.compile(r"^(?:to|for|into)\s+[a-z ]+$")


def answered(request: str, reply: str) -> str | None:
    """The request ``request`` with ``reply`` put where it answers it, or None when ``reply`` is
    not an amount, an address or a token to swap into (it is then a request of its own)."""
    reply = " ".join(reply.split())
    if address := _ADDRESS.match(reply):
        return f"{request} to {address.group('address')}"
    lowered = reply.lower()
    if _TARGET.match(lowered):
        return f"{request} {lowered}"
    if not _AMOUNT.match(lowered):
        return None
    verb, _, rest = request.strip().partition(" ")
    amount, _, symbol = lowered.partition(" ")
    if symbol and not rest.lower().startswith(symbol):
        return None  # "100 dai" for a question about ETH: a request of its own, or a mistake
    return f"{verb} {amount} {rest}"
