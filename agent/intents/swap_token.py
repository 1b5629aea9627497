"""Follow-ups that change a token of the previous plan's swap, for the offline rule parser: "to dai
instead", "actually into wbtc", "make it to dai" change what it gets; "with dai instead", "pay
with usdc", "use dai instead" what it pays, when its amount is of what it gets ("buy 300 USDC with ETH").

Only a plan of one swap is changed so: in a longer plan, the steps after the swap use what it
gets, and the request has to be said whole. The token the amount is counted in is never changed
("swap 0.1 ETH" paid with DAI instead would be 0.1 DAI): that is a new request too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent.errors import Refused
from agent.intents.patterns import compiled
from agent.intents.phrases import token

Step = dict[str, Any]


_RETOKEN = compiled(
    r"^(?:(?:no|nope|actually|sorry|wait|oh|hmm|ok|okay|but|rather|and)\b[,!.]?\s+)*"
    r"(?:(?:make|change)\s+(?:it|that|this)\s+)?(?:(?P<pays>pay\s+)?(?P<prep>to|into|for|with|using|use)"
    r"\s+(?P<token>[a-z]+))(?:\s+instead)?$"
)
_GETS = frozenset({"to", "into", "for"})


def retoken(
    lowered: str, history: Sequence[tuple[str, Mapping[str, Any]]], symbols: tuple[str, ...]
) -> list[Step] | None:
    """The previous plan's swap with the token ``lowered`` names in place of what it gets (or
    pays); None when ``lowered`` is not such a follow-up (QA: "actually to dai" was "I don't
    understand")."""
    match = _RETOKEN.match(lowered)
    if match is None or not history:
        return None
    symbol = token(match.group("token"), symbols)  # QA: "to foo instead" asked for an amount
    steps = [dict(step) for step in history[-1][1]["steps"]]
    if len(steps) != 1 or steps[0]["action"] != "swap":
        raise Refused(f"That changes what the plan is made of: say the whole request with {symbol}")
    (swap,) = steps
    side = "token_out" if match.group("prep") in _GETS and not match.group("pays") else "token_in"
    if swap[side] == symbol:  # QA: the same plan again, without a word
        said = "gets" if side == "token_out" else "pays with"
        raise Refused(f"The swap already {said} {symbol}")
    other = swap["token_in" if side == "token_out" else "token_out"]
    if symbol == other or {symbol, other} == {"ETH", "WETH"}:
        pair = f"{other} to {symbol}" if side == "token_out" else f"{symbol} to {other}"
        raise Refused(f"{pair} is not a swap: say the whole request")
    counted = "token_out" if swap["amount_kind"] == "exact_out" else "token_in"
    if side == counted:
        amount = swap["amount"]
        example = (
            f"swap {amount} {symbol} to {swap['token_out']}"
            if side == "token_in"
            else f"buy {amount} {symbol} with {swap['token_in']}"
        )
        raise Refused(
            f"The amount is {amount} {swap[counted]}: say the whole request with {symbol}, "
            f"e.g. {example}"
        )
    swap[side] = symbol
    return steps
