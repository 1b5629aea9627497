"""A reply to the agent's question: "How much ETH do you want to swap?" answered "0.1", "Which
address should receive the USDC?" answered "to 0x...". The reply and the request it answers are
read as one request: "swap eth to usdc" and "0.1" are "swap 0.1 eth to usdc".
"""

from __future__ import annotations

import re

from agent.intents.patterns import compiled
from agent.intents.phrases import IN_DOLLARS, NUMBER, NUMBER_WORDS, slippage
from agent.intents.rules import PAYING, TOWARDS, TRAILING, one_step
from strategies.tokens import resolve_symbol

_AMOUNT = compiled(
    r"^(?P<amount>\d+(?:\.\d+)?\s*(?:%|percent)"
    rf"|(?:{NUMBER})k?|{'|'.join(NUMBER_WORDS)}|all|max|everything|half|a quarter)"
    r"(?:\s*(?P<symbol>[a-z]+))?$"
)
_ADDRESS = compiled(r"^(?:to\s+)?(?P<address>0x[0-9a-fA-F]{40})$")
_TARGET = compiled(r"^(?:to|for|into)\s+[a-z ]+$")
_PAY_WITH = compiled(r"^(?:with\s+|using\s+|for\s+)?(?P<symbol>[a-z]+)$")
_INSTEAD = compiled(r"\s+instead$")
_WRAPS = {"wrap": "eth", "unwrap": "weth"}
"""What a wrap or an unwrap takes."""


def _names(word: str, text: str) -> bool:
    """Whether ``text`` names the token ``word`` does, by any of its names ("ether", "eth")."""
    symbol = resolve_symbol(word) or word.upper()
    return any((resolve_symbol(w) or w.upper()) == symbol for w in text.split())


def _token_reply(reply: str) -> str | None:
    """The token a reply names alone ("usdc", "with usdc"), as written, if it is a token."""
    paid = _PAY_WITH.match(_INSTEAD.sub("", reply))
    if paid is None or resolve_symbol(paid.group("symbol")) is None:
        return None
    return paid.group("symbol")


def _with_token(kind: str, verb: str, rest: str, named: str, *, source_less: bool) -> str | None:
    """A request missing a token, with the token a reply names where it is missing (QA: "usdc"
    answering "What do you want to pay for the ETH with?" was "I don't understand 'usdc'")."""
    if kind == "buy":
        return None if PAYING.fullmatch(rest) else f"{verb} {rest} with {named}"
    if kind not in ("swap", "sell"):
        return None
    if source_less:
        return f"{verb} {named} {rest}"
    sides = TOWARDS.split(rest, maxsplit=1)
    if len(sides) == 1:
        return f"{verb} {rest} to {named}"  # "swap 1 eth", "usdc"
    spent, gets = sides
    if re.fullmatch(r"[\d.,]+k?", spent.strip()):  # "swap 0.3 to dai", "eth"
        return f"{verb} {spent.strip()} {named} to {gets}"
    return None


def answered(request: str, reply: str) -> str | None:
    """The request ``request`` with ``reply`` put where it answers it, or None when ``reply`` is
    not an amount, an address or a token to swap into, or ``request`` is of several steps (which
    step would it answer?): it is then a request of its own. An amount goes to what is spent:
    "buy eth with usdc" and "100" are "buy eth with 100 usdc"."""
    step = one_step(request)
    if step is None:
        return None
    reply, bps = slippage(TRAILING.sub("", " ".join(reply.lower().split())).strip())
    combined = _answered(*step, reply.strip())
    if combined is None or bps is None:
        return combined
    return f"{combined} with {bps} bps slippage"  # "to usdc with 1% slippage" (QA)


def _answered(kind: str, verb: str, rest: str, reply: str) -> str | None:
    if usd := IN_DOLLARS.search(rest):
        return _in_tokens(kind, verb, rest, usd, reply)
    if address := _ADDRESS.match(reply):  # to whom a transfer goes: nothing else takes one (QA)
        return f"{verb} {rest} to {address.group('address')}" if kind == "transfer" else None
    source_less = _TARGET.match(rest) is not None  # "swap to dai": what it spends is asked
    if _TARGET.match(reply) and kind in ("swap", "sell"):
        target = _INSTEAD.sub("", reply)
        return f"{verb} {target}" if source_less else f"{verb} {rest} {target}"
    if (named := _token_reply(reply)) is not None:
        return _with_token(kind, verb, rest, named, source_less=source_less)
    amount = _AMOUNT.match(reply)
    if amount is None:
        return None
    if source_less and kind in ("swap", "sell"):  # "swap to dai", "0.3 eth"
        return f"{verb} {reply} {rest}"
    value, symbol = amount.group("amount"), amount.group("symbol")
    if kind in _WRAPS and not rest.strip():  # "wrap", "0.5": of what a wrap takes (QA)
        held = _WRAPS[kind]
        return None if symbol and not _names(symbol, held) else f"{verb} {value} {held}"
    if kind == "buy":
        paying = PAYING.fullmatch(rest)
        if paying is None:  # "buy eth": what it is paid with is the question (QA: "100 usdc")
            if symbol is None or re.search(r"\d", rest):
                return None
            if _names(symbol, rest):
                return f"{verb} {value} {rest}"  # "0.2 eth": how much it buys
            return f"{verb} {rest} with {value} {symbol}"
        bought, prep, paid = paying.group("dst", "prep", "src")
        if symbol and not _names(symbol, paid):
            return None
        return f"{verb} {bought} {prep} {value} {paid}"
    if symbol and not _names(symbol, TOWARDS.split(rest)[0]):
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
    paid = _PAY_WITH.match(reply)  # any word: an unknown token is said as such, with the rest
    return None if paid is None else f"{verb} {rest} with {paid.group('symbol')}"
