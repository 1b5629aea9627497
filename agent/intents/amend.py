"""Follow-up requests that change the amount of the previous plan, for the offline rule parser:
"make it 2 ETH instead", "actually 500", "change it to half", "0.5 instead", "yes but make it
0.05", "double it", "make it 3x", or an amount alone: "half of my eth", "0.5", "2x".

The amended plan is the previous one with one amount (and optionally its token) replaced; it is
drawn as a new card, so the user reads it before anything happens, whether or not the previous plan
was sent. A request that continues the previous plan ("and then lend it") is not read as a
follow-up: after an executed swap it would plan the swap again. It has to be said whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_DOWN, Decimal
from typing import Any

from agent.errors import IntentError
from agent.intents.patterns import compiled
from agent.intents.phrases import multiples, quantity, token
from strategies.tokens import resolve_symbol

Step = dict[str, Any]

_AMEND = compiled(
    r"^(?:(?:no|nope|actually|sorry|wait|oh|oops|hmm|yes|yeah|ok|okay|but|rather)\b[,!.]?\s+)*"
    r"(?:(?:make|change)\s+(?:it|that|this|the amount)(?:\s+to)?\s+(?P<q>.+?)(?:\s+instead)?"
    r"|(?P<q2>.+?)\s+instead|(?P<alone>.+))$"
)
_FIXED = compiled(r"\d+(?:\.\d+)?")
_OF_WALLET = compiled(r"\b(?:my|wallet|balance)\b")
"""A share of what the wallet holds ("half of my dai"); any other share is of the plan's amount."""
_MICRO = Decimal("0.000001")
_ABOVE_ALL = compiled(r"(\d+(?:\.\d+)?)\s*(?:%|percent)")
_IT = frozenset({"it", "that", "this"})
"""What "half of it" is half of: the plan's amount."""
_FOR = compiled(r"^(?P<t>.*?)\s*\b(?:for|to|into)\s+(?P<o>[a-z]+)(?:\s+swap)?$")
"""Which swap a follow-up changes, by what it gets: "0.2 eth for the dai" (fillers removed)."""


def amendment(lowered: str, *, after_plan: bool) -> tuple[str, bool] | None:
    """The new quantity words of a follow-up ("2 eth" in "make it 2 eth instead"), and whether
    they are an amount alone; else None. An amount alone is one only ``after_plan``: before any,
    "100 eth" is not understood."""
    match = _AMEND.match(lowered)
    if match is None:
        return None
    alone = match.group("alone")
    if alone is None:
        return match.group("q") or match.group("q2"), False
    if not after_plan:
        return None
    if _times(alone)[0] is not None:
        return alone, True
    q = quantity(alone)  # an amount alone, of one token at most: "half of my eth", "0.5"
    return (alone, True) if q.amount is not None and len(q.token_words.split()) <= 1 else None


def amend(
    words: str,
    history: Sequence[tuple[str, Mapping[str, Any]]],
    symbols: tuple[str, ...],
    *,
    alone: bool = False,
) -> list[Step]:
    """The previous plan's steps with the amount ``words`` names put in place of the one it
    changes: the only amount the user wrote, or the one of the token ``words`` names. An amount
    ``alone`` ("0.05 wbtc") does not bring in a token the plan does not name: that takes "make
    it" (QA: after a swap of ETH, "0.05 wbtc" planned a swap of WBTC)."""
    if not history:
        raise IntentError(
            "needs_clarification",
            "There is no earlier plan here to change: say the whole request, e.g. swap 2 ETH for USDC",
        )
    steps = [dict(step) for step in history[-1][1]["steps"]]
    factor, besides = _times(words)
    q = quantity(f"1 {besides}" if factor else words)  # the token the multiple is of, if named
    if q.amount is None and factor is None:
        named = resolve_symbol(q.token_words, symbols) if q.token_words else None
        if named is not None:  # QA: "make it dai" asked for an amount
            raise IntentError(
                "needs_clarification",
                f'To use {named}, say "to {named} instead" (what a swap gets) or "with {named} '
                'instead" (what it pays), or the whole request; to change the amount, name it, '
                "e.g. make it 2 ETH instead",
            )
        raise IntentError(
            "needs_clarification", "What should the amount be? e.g. make it 2 ETH instead"
        )
    written_amount = f"{factor}x" if factor else q.amount or ""
    words_of_token, target = ("" if q.token_words in _IT else q.token_words), None
    swap_of = _FOR.match(words_of_token)
    if swap_of and (target := resolve_symbol(swap_of.group("o"), symbols)) is not None:
        words_of_token = swap_of.group("t")
    symbol = token(words_of_token, symbols) if words_of_token else None
    written = [i for i, s in enumerate(steps) if not s["amount"].startswith("output:")]
    same = [
        i
        for i in written
        if (symbol is None or _amount_token(steps[i]) == symbol)
        and (target is None or _gets(steps[i]) == target)
    ]
    if len(same) == 1:
        index = same[0]
    elif target is not None and not same:
        raise IntentError(
            "needs_clarification",
            f"The plan has no swap to {target}: say the whole request with {target}",
        )
    elif not same and len(written) == 1:
        index = written[0]
        if alone and symbol not in _named(steps[index]):
            raise IntentError(
                "needs_clarification",
                f"The plan has no {symbol}: say the whole request with {symbol}, or make it "
                f"{words} to change the plan's token",
            )
        _retoken(steps, index, str(symbol))
        symbol = None  # counted in another token now: a share is of the wallet's
    else:
        named = " or ".join(f'"{_said(s)}"' for s in map(steps.__getitem__, same or written))
        raise IntentError(
            "needs_clarification",
            f"{WHICH_AMOUNT}: {named}?{_hint(steps, same, written_amount)}",
        )
    step = steps[index]
    amount = written_amount
    relative = symbol is not None or not words_of_token
    if factor is not None:
        amount = _share(str(step["amount"]), factor * 100)
    elif amount.endswith("%") and relative and not _OF_WALLET.search(words):
        amount = _share(str(step["amount"]), Decimal(amount[:-1]))
    if (step["action"] == "borrow" or step.get("amount_kind") == "exact_out") and not (
        _FIXED.fullmatch(amount)
    ):
        what = "borrowing" if step["action"] == "borrow" else f"buying {step['token_out']}"
        raise IntentError("invalid_amount", f"{what} needs a fixed amount, not {amount}")
    step["amount"] = amount
    return steps


def _times(words: str) -> tuple[Decimal | None, str]:
    """The multiple of the plan's amount ``words`` ask for ("2x", "double it", "200%": more than
    all of a balance is only a multiple of the plan's; QA), and the words besides it: the token
    whose amount it multiplies ("double it dai", as an answer to `WHICH_AMOUNT` makes it; QA:
    "I don't understand 'double it dai'"). No multiple: None and ``words``."""
    if (above := _ABOVE_ALL.match(words)) and Decimal(above.group(1)) > 100:
        factor, besides = Decimal(above.group(1)) / 100, words[above.end() :].strip()
    elif len(found := multiples(words)) == 1:
        said, factor = found[0]
        besides = " ".join(words.replace(said, " ", 1).split())
    else:
        return None, words
    if besides.startswith("of ") or _OF_WALLET.search(besides):  # "200% of my eth": a share
        return None, words
    return factor, besides


def _share(amount: str, percent: Decimal) -> str:
    """``percent`` of the plan's ``amount``: "make it half" of "supply 50 usdc" is 25 USDC (it was
    half the wallet's USDC), of "50%" 25%, of everything half of everything; "double it" of
    half the wallet's is all of it, of all of it more than there is. A fixed amount is rounded
    down to 6 decimals, which every token of the book has room for."""
    if amount == "max" or amount.endswith("%"):
        share = (Decimal(100 if amount == "max" else amount[:-1]) * percent / 100).normalize()
        if share > 100:
            of = "all of it" if amount == "max" else f"{amount} of it"
            raise IntentError(
                "invalid_amount",
                f"The plan's amount is {of}: {percent.normalize():f}% of that is more than there is",
            )
        return f"{share:f}%"
    share = (Decimal(amount) * percent / 100).quantize(_MICRO, ROUND_DOWN)
    if not share:
        raise IntentError("invalid_amount", f"{percent.normalize():f}% of {amount} is nothing")
    return f"{share.normalize():f}"


def _amount_token(step: Step) -> str:
    """The token a step's amount is counted in."""
    if step["action"] == "swap":
        return str(step["token_out" if step["amount_kind"] == "exact_out" else "token_in"])
    return {"wrap": "ETH", "unwrap": "WETH"}.get(step["action"]) or str(step["token"])


def _named(step: Step) -> tuple[str, ...]:
    """The tokens a step names."""
    if step["action"] == "swap":
        return str(step["token_in"]), str(step["token_out"])
    return (_amount_token(step),)


def _gets(step: Step) -> str | None:
    """What a swap step buys."""
    return str(step["token_out"]) if step["action"] == "swap" else None


def _said(step: Step) -> str:
    """A step as a request says it: "swap 0.5 ETH to DAI", "supply 100 USDC"."""
    amount, counted = step["amount"], _amount_token(step)
    if step["action"] != "swap":
        return f"{step['action']} {amount} {counted}"
    if step["amount_kind"] == "exact_out":
        return f"buy {amount} {counted} with {step['token_in']}"
    return f"swap {amount} {counted} to {step['token_out']}"


WHICH_AMOUNT = "Which amount should change"
"""The start of the question `amend` asks when a follow-up fits more than one step."""
_PICKED = compiled(r"^(?:the\s+|that\s+)?(?P<words>.*?)(?:\s+(?:one|step))?[.!]?$")


def chosen(reply: str, steps: Sequence[Step], symbols: tuple[str, ...]) -> str | None:
    """The token of the step ``reply`` picks, answering `WHICH_AMOUNT`: the step as the question
    quoted it ("borrow 500 DAI"), its action ("the borrow") or its token ("the DAI"); None when
    it picks none, or more than one token (QA: "the DAI" was "I don't understand", and the
    quoted "borrow 500 DAI" a new plan that dropped the supply)."""
    cleaned = " ".join(reply.lower().strip().strip("\"'“”").split())
    picked = _PICKED.match(cleaned)
    words = picked.group("words") if picked else cleaned
    written = _written(steps)
    matched = [
        s
        for s in written
        if words in (_said(s).lower(), str(s["action"]))
        or resolve_symbol(words, symbols) in _named(s)
    ]
    tokens = {_amount_token(s) for s in matched}
    if len(tokens) != 1:
        return None
    (symbol,) = tokens
    shared = [s for s in written if _amount_token(s) == symbol]
    if len(matched) == len(shared):
        return symbol
    if len(matched) == 1 and len({_gets(s) for s in shared}) == len(shared):
        return f"{symbol} for the {_gets(matched[0])}"  # QA: "the DAI" of two swaps of ETH
    return None


def every_pick(steps: Sequence[Step], symbols: tuple[str, ...]) -> list[str] | None:
    """An answer to `WHICH_AMOUNT` for each step of its own amount, as `chosen` gives them: what
    "both" answers (QA: it asked again); None when one of them cannot be named apart."""
    written = _written(steps)
    picks = [chosen(_said(s), steps, symbols) for s in written]
    if None in picks or len(set(picks)) < len(picks):
        return None
    return [str(pick) for pick in picks]


def example_pick(steps: Sequence[Step]) -> str:
    """An answer to `WHICH_AMOUNT` that `chosen` reads, for the plan's last step of its own
    amount: its action when no other step has it, else what its swap gets (QA: "e.g. the
    borrow" on a plan of two swaps)."""
    written = _written(steps)
    last = written[-1]
    if [s["action"] for s in written].count(last["action"]) == 1:
        return f"the {last['action']}"
    return f"the {_gets(last) or _amount_token(last)}"


def _written(steps: Sequence[Step]) -> list[Step]:
    """The steps with an amount of their own (not what a step before them made)."""
    return [s for s in steps if not str(s["amount"]).startswith("output:")]


def _hint(steps: Sequence[Step], candidates: Sequence[int], amount: str) -> str:
    """How to name one of two swaps that spend the same amount of the same token."""
    swaps = [steps[i] for i in candidates if steps[i]["action"] == "swap"]
    if len(swaps) < 2 or len({_gets(s) for s in swaps}) < len(swaps):
        return ""
    first = swaps[0]
    return f" e.g. make it {amount} {_amount_token(first)} for the {_gets(first)}"


def _retoken(steps: list[Step], index: int, symbol: str) -> None:
    """Count step ``index`` in ``symbol`` instead, when nothing later uses what it produces."""
    step = steps[index]
    if step["action"] in ("wrap", "unwrap") or any(
        s["amount"] == f"output:{index + 1}" for s in steps[index + 1 :]
    ):
        raise IntentError(
            "needs_clarification",
            f"That changes what the plan is made of: say the whole request with {symbol}",
        )
    if step["action"] != "swap":
        step["token"] = symbol
        return
    side = "token_out" if step["amount_kind"] == "exact_out" else "token_in"
    other = step["token_in" if side == "token_out" else "token_out"]
    if symbol == other:  # "swap 1 ETH to USDC", "make it 1000 USDC": buy 1000 USDC with ETH
        step["amount_kind"] = "exact_in" if side == "token_out" else "exact_out"
        return
    step[side] = symbol
