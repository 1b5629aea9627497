"""The offline rule parser: deterministic, fast, and broad; anything it does not understand is an
`IntentError` with a code, never a guess.

A request is split into clauses ("... then ...", "... and <verb> ..."); each clause starts with a
verb that names its action. "it", "them", "that" or "the <token>" refer to what the previous step
produced ("output:N"). Slippage is read from the whole request and applies to its swaps; without
one, swaps get the policy's default.

`defi-agent plan` imports this module and its imports before anything else (`agent.cli.quick`):
they stay free of pydantic, and of dataclasses, whose import alone costs half of Python's start-up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from agent.errors import IntentError, Refused
from agent.intents.amend import amend, amendment
from agent.intents.patterns import compiled
from agent.intents.phrases import (
    ADDRESS,
    DOLLAR_TOKENS,
    NUMBER,
    NUMBER_WORDS,
    POSITION_WORDS,
    Quantity,
    dollars,
    quantity,
    refuse_other_protocols,
    slippage,
    token,
)
from agent.intents.summary import risk_of, summarise
from agent.intents.swap_token import retoken
from strategies.tokens import DEFAULT_SYMBOLS, produced_token, resolve_symbol
from tools.chain.address import is_address, is_checksum_address, to_checksum_address

Step = dict[str, Any]
Plan = dict[str, Any]
"""A plan as DESIGN.md's JSON, not yet validated: what parsers produce (see `IntentPlanner`)."""
GoalPlanner = Callable[[str, str | None, str, str], Plan]
"""(token, amount or None, risk, intent) -> plan; see strategies.goals."""
Positions = Callable[[], tuple[tuple[str, ...], tuple[str, ...]]]
"""() -> (the tokens the wallet has supplied on Aave, the tokens it owes), read from the chain."""

_POLITE = compiled(
    r"^(?:(?:please|pls|hey|ok|okay|now|so)\s+|(?:can|could|would) you\s+|i(?:'d| would) like to\s+|i want to\s+|i wanna\s+|let'?s\s+|go ahead and\s+)+"
)
_INJECTION = compiled(
    r"ignore (?:all |any )?(?:previous|prior|above|earlier)|disregard|system prompt|you are now|new instructions|developer mode|jailbreak",
    re.I,
)
_UNSUPPORTED = (
    (
        r"\bstak(?:e|ing)\b|\bunstake\b|\brestak",
        "staking is not supported (swaps, Aave lending, transfers, wrapping are)",
    ),
    (
        r"\bbridge\b|\bbridging\b|\bcross-?chain\b",
        "bridging is not supported; this agent acts on one chain",
    ),
    (
        r"\bperps?\b|\bperpetual|\bleverage\b|\blong\b|\bshort\b|\bmargin\b|\bfutures?\b|\boptions?\b",
        "perpetuals, leverage and derivatives are not supported",
    ),
    (
        r"\bapprov(?:e|al|als)\b|\ballowance\b",
        "approvals are not asked for directly: the agent approves exactly what each step spends",
    ),
    (r"\bnfts?\b|\bmint\b", "NFTs are not supported"),
    (
        r"\b(?:if|when|whenever|once|unless)\s+(?:the\s+)?(?:price|it|eth|btc|wbtc|weth|usdc|dai)\b"
        r"|\blimit orders?\b|\bstop[- ]loss\b|\btake[- ]profit\b"
        r"|(?:\s(?:at|@)|@)\s*(?:a\s+)?(?:price\s+of\s+)?\$?\d[\d,.]*k?\s*(?:usd|dollars?|each)?\s*$",
        "conditional and limit orders are not supported: the agent acts now, at the market price",
    ),
    (r"\bliquidity\b|\blp\b", "providing liquidity is not supported"),
    (
        r"\b(?:every|each)\s+(?:\d+\s+)?(?:days?|weeks?|hours?|months?|minutes?|blocks?)\b"
        r"|\b(?:daily|weekly|hourly|monthly|recurring)\b",
        "a request runs once: to repeat it, write it as a strategy (like "
        "strategies/examples/dca-eth.yaml) and `defi-agent run` it",
    ),
)
_GOAL = compiled(
    r"^(?:earn|get|make|find|generate|want)\s+(?:some\s+|the\s+)?(?:best\s+|safe\s+|passive\s+)?(?:yield|interest|apy|returns?)\s+(?:on|for|with|from)\s+(?P<what>.+?)$"
    r"|^(?:best|highest|safest)\s+(?:yield|apy|interest|rate)\s+(?:on|for)\s+(?P<what2>.+?)$"
    r"|^put\s+(?P<what3>.+?)\s+to\s+work$"
    r"|^(?:make|let)\s+(?P<what4>.+?)\s+(?:earn|work)(?:\s+(?:yield|interest))?$"
)
_IDLE = compiled(r"\b(?:idle|spare|unused|extra)\s+")
"""What a goal's token may be called without naming an amount: "my idle USDC" is all of it, as
"my USDC" is."""
_RISK = compiled(
    r"\s*(?:,|with|at|for)?\s*(?:a\s+)?(?P<risk>low|medium|moderate|high)\s+risk(?:\s+(?:level|tolerance))?\s*$"
)
_CLOSE = r"close(?: out)?|exit|unwind"
"""The repay verbs that may mean a deposit too: asked about, or all of both ("close all my
positions")."""
_VERBS = (
    ("swap", r"swap|trade|exchange|convert"),
    ("sell", r"sell"),
    ("buy", r"buy|purchase|get me|acquire"),
    ("spend", r"spend|use"),
    ("supply", r"supply|lend|deposit|put"),
    (
        "borrow",
        r"borrow|take out a loan of|take out a loan|take a loan of|take a loan|get a loan of",
    ),
    ("withdraw", r"withdraw|take out|remove|pull out|pull|redeem|take"),
    ("repay", rf"repay|pay back|pay off|payback|pay down|{_CLOSE}"),
    ("transfer", r"send|transfer|pay|move"),
    ("unwrap", r"unwrap"),
    ("wrap", r"wrap"),
)
_VERB = compiled(r"^(?P<verb>" + "|".join(v for _, v in _VERBS) + r")\b\s*(?P<rest>.*)$")
_SPLIT = compiled(
    r"\s*(?:[;.]\s+|,?\s*\b(?:and then|then|after that|afterwards|finally)\b\s*|,?\s*\band\b\s+(?=(?:"
    + "|".join(v for _, v in _VERBS)
    + r")\b)|,\s+(?=(?:"
    + "|".join(v for _, v in _VERBS)
    + r")\b))\s*"
)
_PRONOUN = compiled(
    r"^(?:all of\s+)?(?:it|them|that|those|this|the proceeds|the output|the result|what i get|what i got)$"
)
_TWO_TOKENS = compiled(r"^(?P<a>[a-z]+)\s*(?:,|&|\band\b|\bplus\b)\s*(?P<b>[a-z]+)$")
"""One swap into two tokens: "swap 1 eth for usdc and dai"."""
_HALF_PRONOUN = compiled(
    r"^(?:half|a quarter|\d+(?:\.\d+)?%) of (?:it|them|that|the proceeds|the output)$"
)
_PROTOCOL = compiled(
    r"\s+(?P<prep>on|to|into|in|at|from|out of|via|through|using|with)\s+(?P<proto>aave(?:\s*v3)?|uniswap(?:\s*v3)?)\s*$"
)
_COLLATERAL = compiled(
    r"^(?P<loan>(?:"
    + dict(_VERBS)["borrow"]
    + r")\b.+?)\s+(?:against|backed by|secured by|using|with)\s+(?P<collateral>.+?)"
    r"(?:\s+(?:as\s+(?:the\s+|my\s+)?)?collateral)?$"
)
_AS_MUCH = compiled(
    r"^(?:as\s+much(?:\s+(?P<a>[a-z]+))?\s+as\s+(?:i\s+can|possible|allowed)"
    r"|(?:the\s+)?(?:most|max(?:imum)?)(?:\s+(?P<b>[a-z]+))?\s+(?:i\s+can|possible|allowed))"
    r"(?:\s+(?:in|of))?(?:\s+(?P<c>[a-z]+))?$"
)
"""A borrow of all the collateral covers: "as much USDC as I can", "the most I can in DAI"."""
_ELIDED = compiled(
    rf"\s*(?:,\s*|\s+)and\s+(?=(?:{NUMBER}|{'|'.join(NUMBER_WORDS)}|all|half|a quarter"
    rf"|\d+(?:\.\d+)?%)(?:\s|[a-z]))"
    rf"|,\s+(?=(?:{NUMBER})\s*[a-z]+\s+(?:to|for|into)\s)"
)
"""Where a clause goes on with the same verb: "swap 1 eth to dai and 2 eth to usdc"."""
_EVERY_POSITION = compiled(
    rf"^(?:(?P<withdraw>{dict(_VERBS)['withdraw']})|(?P<close>{_CLOSE})|{dict(_VERBS)['repay']}"
    r"|pay(?=\s+(?:all\s+(?:of\s+)?)?(?:my|the)\s+(?:debts?|loans?)$))"
    rf"\s+(?:all|everything|all of)?\s*(?:of\s+)?(?:my|the)?\s*(?P<what>{POSITION_WORDS})?$"
)
"""A withdrawal or repayment of everything, naming no token: "withdraw everything from aave";
closed, all of both ("close all my positions")."""
_TWO_POSITIONS = compiled(
    rf"^(?P<verb>{dict(_VERBS)['withdraw']}|{dict(_VERBS)['repay']})\s+(?:all\s+(?:of\s+)?)?"
    r"(?:my\s+|the\s+)?(?P<a>[a-z]+)\s*(?:,|&|\band\b)\s*(?:my\s+|the\s+)?(?P<b>[a-z]+)"
    r"(?:\s+(?:debts?|loans?|positions?|deposits?))?$"
)
"""All of two tokens, withdrawn or repaid: "withdraw my dai and usdc"."""
_OWED_WORDS = compiled(r"debts?|loans?|borrows?|borrowings")
_SUPPLIED_WORDS = compiled(r"deposits?|supplies|funds|collateral")
_REFERS_BACK = compiled(
    r"\b(?:it|them|that|those|this|the proceeds|the output|the result|what i get|what i got)\b"
)
"""A pronoun for what the previous clause produced (`_PRONOUN` is the whole amount phrase)."""
_REST = compiled(
    r"\b(?:the rest|the remainder|the remaining|what(?:'s| is) left|whatever(?:'s| is) left)\b"
)
"""What is left of something: of a step's output, of what a step did not spend, or of the
balance? Asked, never guessed."""
TRAILING = compiled(
    r"(?:[\s,]+(?:please|pls|plz|thanks|thank you|thx|ty|now|right now|asap|for me)|[^\w\s%)]+)+$"
)
"""Words and symbols after the request itself: "... to usdc please", "... to aave 🙏"."""
TOWARDS = compiled(r"\s*(?:\s(?:to|for|into|in exchange for)\s|->|→|=>)\s*")
"""Where what a swap spends ends and what it gets begins: "1 eth to usdc", "1 eth → usdc"."""
PAYING = compiled(r"(?P<dst>.+?)\s+(?P<prep>with|using|for|from)\s+(?P<src>.+)")
"""A purchase's two sides: what it buys, and what it is paid with ("eth with usdc")."""
_INSTEAD = compiled(r"\s+instead$")
_ONLY_SLIPPAGE = compiled(
    r"^(?:(?:make|it|change|set|to|use|with|at|instead|actually|no|ok|okay|and|but|then|the)"
    r"\b\W*)*$"
)
"""The words of a follow-up that only changes the slippage, once its slippage is read."""
_AS_COLLATERAL = compiled(r"\s+as\s+(?:the\s+|my\s+)?collateral$")
_AT_LEAST = compiled(r"(?:^|\s)(?:at least|a minimum of|minimum|min\.?|no less than)\s")
"""A minimum output, wherever the swap's other side says it ("usdc for at least 2900 usdc")."""
_DEBT = compiled(r"\s+(?:debt|loan|borrow(?:ing)?s?|position)$")
_OWED = compiled(r"\b(?:debts?|loans?)\b")


MAX_REQUEST_CHARS = 500
"""The longest request read (QA: the refusal did not say the limit)."""


class ParseContext:
    """What parsing needs besides the text: the address book's tokens, the default slippage (the
    session's, read before each request), the goal strategies ("earn yield on USDC") and the
    wallet's Aave positions ("withdraw everything"), None when not available."""

    def __init__(
        self,
        symbols: tuple[str, ...] = DEFAULT_SYMBOLS,
        default_slippage_bps: int = 50,
        goals: GoalPlanner | None = None,
        positions: Positions | None = None,
    ) -> None:
        self.symbols = symbols
        self.default_slippage_bps = default_slippage_bps
        self.goals = goals
        self.positions = positions


def _as_written(error: IntentError, addresses: dict[str, str]) -> IntentError:
    """``error`` with the placeholders of addresses (``addr0``) put back as the user wrote them."""
    return IntentError(error.code, _with_addresses(error.message, addresses), hint=error.hint)


def _with_addresses(text: str, addresses: dict[str, str]) -> str:
    for key in sorted(addresses, key=len, reverse=True):
        text = text.replace(key, addresses[key])
    return text


class StepQuestion(IntentError):
    """A question about one step of a request of several: a reply answers that step
    (`agent.intents.reply`), the others as they were said (QA: "swap 0.1 eth for usdc then
    supply usdc" asked "How much USDC do you want to supply?", and "all" was not understood)."""

    def __init__(
        self, message: str, steps: tuple[str, ...], index: int, *, hint: str | None = None
    ) -> None:
        super().__init__("needs_clarification", message, hint=hint)
        self.steps, self.index = steps, index


class RuleParser:
    def __init__(self, context: ParseContext | None = None) -> None:
        self.context = context or ParseContext()

    def parse(self, text: str, history: Sequence[tuple[str, Plan]] = ()) -> Plan:
        """A plan for ``text``; of the conversation, only the last plan is used, by a follow-up
        that changes its amount ("make it 2 ETH instead", see `agent.intents.amend`)."""
        intent = " ".join(text.split())
        if not intent:
            raise IntentError("needs_clarification", "What would you like to do?")
        if len(intent) > MAX_REQUEST_CHARS:
            raise IntentError(
                "unsupported",
                f"that request is too long ({len(intent):,} characters, at most "
                f"{MAX_REQUEST_CHARS}); describe one plan of up to a few steps",
            )
        if _INJECTION.search(intent):
            raise IntentError(
                "unsupported",
                "the request contains instructions to the agent; say only what you want done",
            )
        addresses: dict[str, str] = {}

        def keep(match: re.Match[str]) -> str:
            key = f"addr{len(addresses)}"
            addresses[key] = match.group(0)
            return key

        lowered = TRAILING.sub("", ADDRESS.sub(keep, intent).lower())
        lowered, bps = slippage(lowered)
        for pattern, message in _UNSUPPORTED:
            if re.search(pattern, lowered):
                raise IntentError("unsupported", message)
        refuse_other_protocols(lowered)
        lowered = _POLITE.sub("", lowered).strip()
        if bps is not None and _ONLY_SLIPPAGE.match(lowered):
            return _plan(intent, _reslipped(history, bps))  # "make it 1% slippage"
        retokened = retoken(lowered, history, self.context.symbols)  # "to dai instead"
        if retokened is not None:
            if bps is not None:
                retokened[0]["max_slippage_bps"] = bps
            return _plan(intent, retokened)
        if (
            not _VERB.match(lowered)
            and (follow_up := amendment(lowered, after_plan=bool(history))) is not None
        ):
            words, alone = follow_up
            steps = amend(words, history, self.context.symbols, alone=alone)
            if bps is not None:
                for step in steps:
                    if step["action"] == "swap":
                        step["max_slippage_bps"] = bps
            return _plan(intent, steps)
        lowered = _INSTEAD.sub("", lowered)
        goal = self._goal(lowered, intent)
        if goal is not None:
            return goal
        steps: list[Step] = []
        several: list[str] = []
        """What the previous clause produced, when it was several tokens ("withdraw everything")."""
        clauses = [
            TRAILING.sub("", _POLITE.sub("", clause).strip())
            for clause in filter(None, _SPLIT.split(lowered))
        ]
        for index, clause in enumerate(clauses):
            if rest := _REST.search(clause):
                raise IntentError(
                    "needs_clarification",
                    f"'{rest.group(0)}' of what: of a step's output, or of your balance? Name the "
                    'amount, e.g. "supply 500 USDC" or "supply all my USDC"',
                )
            if len(several) > 1 and (pronoun := _REFERS_BACK.search(clause)):
                raise IntentError(
                    "needs_clarification",
                    f"'{pronoun.group(0)}' could be the {' or the '.join(several)}: name one, "
                    f'e.g. "the {several[-1]}"',
                )
            parts = self._expand(clause)
            for part in parts:
                try:
                    steps.append(self._clause(part, steps, addresses))
                except IntentError as error:
                    written = _as_written(error, addresses)
                    if isinstance(error, Refused):
                        raise Refused(written.message) from None
                    if error.code != "needs_clarification" or len(clauses) == 1:
                        raise written from None
                    raise StepQuestion(
                        written.message,
                        tuple(_with_addresses(c, addresses) for c in clauses),
                        index,
                        hint=written.hint,
                    ) from None
            made = [produced_token(step) for step in steps[len(steps) - len(parts) :]]
            several = sorted({t for t in made if t is not None}) if len(parts) > 1 else []
        if not steps:
            raise IntentError("unsupported", "I could not find anything to do in that request")
        if len(steps) > 6:
            raise IntentError("unsupported", "a plan has at most 6 steps")
        for step in steps:
            if step["action"] == "swap":
                step["max_slippage_bps"] = self.context.default_slippage_bps if bps is None else bps
        return _plan(intent, steps)

    def _goal(self, lowered: str, intent: str) -> Plan | None:
        risk = "low"
        if match := _RISK.search(lowered):
            risk = {"moderate": "medium"}.get(match.group("risk"), match.group("risk"))
            lowered = lowered[: match.start()].strip()
        match = _GOAL.match(lowered)
        if match is None:
            return None
        what = next(g for g in match.groups() if g)
        q = quantity(_IDLE.sub("", what))  # "my idle USDC": all of it the goal may use
        symbol = token(q.token_words, self.context.symbols)
        if self.context.goals is None:
            raise IntentError("unsupported", "goal strategies are not available here")
        return self.context.goals(symbol, q.amount, risk, intent)

    def _expand(self, clause: str) -> list[str]:
        """The one-step clauses ``clause`` stands for: each position for "withdraw everything",
        one clause per amount for "supply 100 usdc and 50 dai", the collateral first for "borrow
        500 usdc against 1 eth"."""
        every = self._every_position(clause) or self._both_positions(clause)
        if every is not None:
            return every
        return [part for same_verb in _elided(clause) for part in self._collateral_first(same_verb)]

    def _both_positions(self, clause: str) -> list[str] | None:
        """ "withdraw my DAI and USDC from aave", "repay my usdc and dai debt": the whole of each
        of two tokens, a clause each; None for any other clause."""
        protocol = _PROTOCOL.search(clause)
        match = _TWO_POSITIONS.match(clause[: protocol.start()] if protocol else clause)
        if match is None or not all(
            resolve_symbol(match.group(t), self.context.symbols) for t in ("a", "b")
        ):
            return None
        where = protocol.group(0) if protocol else ""
        return [f"{match.group('verb')} my {match.group(t)}{where}" for t in ("a", "b")]

    def _every_position(self, clause: str) -> list[str] | None:
        """ "withdraw everything from aave" is a withdrawal of each token supplied, "repay all my
        debt" a repayment of each token owed, as the chain has them now, and "close all my
        positions" both, the debts first (a withdrawal the debt needs would revert); None for
        any other clause."""
        protocol = _PROTOCOL.search(clause)
        match = _EVERY_POSITION.match(clause[: protocol.start()] if protocol else clause)
        if match is None or (protocol and protocol.group("proto").startswith("uniswap")):
            return None
        what = match.group("what") or "positions"
        if match.group("withdraw") is not None:
            repaying, withdrawing = False, True
        elif match.group("close") is None:
            repaying, withdrawing = True, False
        else:  # closing: what it names, or every position, owed and supplied
            repaying = _SUPPLIED_WORDS.fullmatch(what) is None
            withdrawing = _OWED_WORDS.fullmatch(what) is None
        examples = [
            example
            for example, wanted in (
                ('"repay all my DAI debt"', repaying),
                ('"withdraw all my USDC"', withdrawing),
            )
            if wanted
        ]
        if self.context.positions is None:
            raise IntentError(
                "needs_clarification", f"Which token? Name it, e.g. {' or '.join(examples)}"
            )
        supplied, owed = self.context.positions()
        # A WETH debt is repaid from ETH, wrapped as needed (a loan borrowed as ETH was
        # unwrapped, so "repay all my weth" reverted for want of WETH).
        clauses = []
        if repaying:
            clauses += [f"repay all my {'eth' if s == 'WETH' else s.lower()}" for s in owed]
        if withdrawing:
            clauses += [f"withdraw all my {symbol.lower()}" for symbol in supplied]
        if not clauses:
            raise IntentError(
                "invalid_amount",
                "you have no position on Aave V3"
                if repaying and withdrawing
                else "you owe nothing on Aave V3"
                if repaying
                else "you have nothing supplied on Aave V3",
            )
        return clauses

    def _collateral_first(self, clause: str) -> list[str]:
        """A borrow against collateral it names an amount of ("against 2 eth", "using all my wbtc
        as collateral", "against it") is two steps: supply that collateral, then borrow. Against
        collateral without an amount ("against my eth") is against what is already supplied: the
        borrow alone (its simulation says so when there is none)."""
        protocol = _PROTOCOL.search(clause)
        where = protocol.group(0) if protocol else ""
        match = _COLLATERAL.match(clause[: protocol.start()] if protocol else clause)
        if match is None:
            return [clause]
        loan, collateral = match.group("loan") + where, match.group("collateral")
        if _PRONOUN.match(collateral) or quantity(collateral).amount is not None:
            return [f"supply {collateral}{where}", loan]
        token(quantity(collateral).token_words, self.context.symbols)
        return [loan]

    def _clause(self, clause: str, steps: list[Step], addresses: dict[str, str]) -> Step:
        match = _VERB.match(clause)
        if match is None:
            raise IntentError(
                "unsupported",
                f"I don't understand {clause!r}: start each step with swap, buy, sell, supply, withdraw, borrow, repay, send, wrap or unwrap",
            )
        said = match.group("verb")
        verb = _kind(said)
        rest = match.group("rest").strip()
        protocol = None
        if proto := _PROTOCOL.search(f" {rest}"):  # "withdraw from aave" names no token
            protocol = "uniswap-v3" if proto.group("proto").startswith("uniswap") else "aave-v3"
            rest = rest[: max(0, proto.start() - 1)].strip()
        if said == "use" and _AS_COLLATERAL.search(rest):  # "use 1 eth as collateral"
            verb = "supply"
        if verb == "supply":  # "supply 1 eth as collateral": what a supply on Aave is
            rest = _AS_COLLATERAL.sub("", rest)
        if said == "pay" and (_OWED.search(rest) or protocol == "aave-v3"):
            verb = "repay"  # "pay my dai loan", "pay 100 dai to aave"
        if verb == "supply" and said == "put":
            rest = re.sub(r"\s+(?:in|into|on|to)$", "", rest)
        if said in ("move", "take") and proto is not None and protocol == "aave-v3":
            verb = "withdraw" if proto.group("prep") in ("from", "out of") else "supply"
        elif said == "take":
            raise IntentError(
                "needs_clarification",
                'Take it from where? e.g. "withdraw 100 USDC from aave" or "borrow 100 DAI"',
            )
        if re.match(_CLOSE, said) and not re.search(r"\b(?:loan|debt|borrow)", rest):
            raise IntentError(
                "needs_clarification",
                f'{said.split()[0].capitalize()} what: repay a loan ("repay my DAI debt") or '
                'withdraw a deposit ("withdraw my DAI")?',
            )
        if verb == "supply" and proto is None and (again := _PROTOCOL.search(rest)):
            rest = rest[: again.start()].strip()  # "supply 1 eth to aave as collateral"
        parse = getattr(self, f"_{verb}")
        step: Step = parse(rest, steps, addresses)
        expected = "uniswap-v3" if step["action"] == "swap" else "aave-v3"
        if (
            protocol is not None
            and step["action"] in ("swap", "supply", "withdraw", "borrow", "repay")
            and protocol != expected
        ):
            name = "Uniswap V3" if protocol == "uniswap-v3" else "Aave V3"
            raise IntentError("unsupported", f"{step['action']} is not something {name} does here")
        return step

    # amounts and references

    def _amount_token(
        self, phrase: str, steps: list[Step], *, default: str | None, ask: str
    ) -> tuple[str, str]:
        phrase = phrase.strip()
        if _HALF_PRONOUN.match(phrase):  # a reply cannot answer it: which step would it be?
            made = (produced_token(steps[-1]) if steps else None) or "USDC"
            raise Refused(
                f'A step takes all of what the step before it made ("it") or an amount you name '
                f'("150 {made}"), not a part of it: say the whole request again with one'
            )
        if _PRONOUN.match(phrase) or re.fullmatch(r"(?:all of )?the (?P<t>.+)", phrase):
            named = re.fullmatch(r"(?:all of )?the (?P<t>.+)", phrase)
            if named and not _PRONOUN.match(phrase):
                symbol = token(named.group("t"), self.context.symbols)
                ref = self._output_ref(steps, symbol)
                if ref is not None:
                    return ref, symbol
                raise IntentError("needs_clarification", f"How much {symbol}?")
            if not steps or (produced := produced_token(steps[-1])) is None:
                raise IntentError(
                    "needs_clarification", "What does 'it' refer to? Name the token and amount."
                )
            return f"output:{len(steps)}", produced
        q: Quantity = quantity(phrase)
        symbol = token(q.token_words, self.context.symbols)
        amount = q.amount or default
        if amount is None:
            raise IntentError("needs_clarification", ask.format(symbol=symbol))
        return amount, symbol

    @staticmethod
    def _output_ref(steps: list[Step], symbol: str) -> str | None:
        for index in range(len(steps), 0, -1):
            if produced_token(steps[index - 1]) == symbol:
                return f"output:{index}"
        return None

    # one method per verb

    def _swap(self, rest: str, steps: list[Step], addresses: dict[str, str]) -> Step:
        sides = rf"(?P<src>.+?){TOWARDS.pattern}(?P<dst>.+)"
        if target := re.fullmatch(r"(?:to|into|for)\s+(?P<t>.+)", rest.strip()):
            symbol = token(target.group("t"), self.context.symbols)  # QA: "swap to dai" asked
            raise IntentError(  # into which token, and "0.3 eth" did not answer it
                "needs_clarification",
                f"How much of which token do you want to swap for {symbol}? e.g. 0.1 ETH",
            )
        q = None if TOWARDS.search(f" {rest} ") else quantity(rest)  # "$100 of eth" asks
        symbol = resolve_symbol(q.token_words, self.context.symbols) if q and q.amount else None
        if symbol is not None:  # "sell 1 eth": into what? (QA: it asked what to swap as well)
            raise IntentError("needs_clarification", f"What do you want to swap the {symbol} for?")
        return self._sides(sides, rest, "What do you want to swap, and into which token?", steps)

    _sell = _swap

    def _buy(self, rest: str, steps: list[Step], addresses: dict[str, str]) -> Step:
        worth = re.fullmatch(rf"(?P<src>(?:{NUMBER})\s*\S+)\s+worth of\s+(?P<dst>.+)", rest)
        if worth is not None:  # "buy 500 usdc worth of eth" spends 500 USDC
            return self._trade(worth.group("src"), worth.group("dst"), steps)
        match = PAYING.fullmatch(rest)
        if match is None:
            q = quantity(rest)
            symbol = token(q.token_words, self.context.symbols)
            raise IntentError(
                "needs_clarification", f"What do you want to pay for the {symbol} with?"
            )
        return self._trade(match.group("src"), match.group("dst"), steps)

    def _spend(self, rest: str, steps: list[Step], addresses: dict[str, str]) -> Step:
        """ "spend 1000 usdc on eth", "use 1000 usdc to buy eth": an exact-input swap."""
        sides = r"(?P<src>.+?)\s+(?:on|buying|to buy|to get|to purchase|for)\s+(?P<dst>.+)"
        return self._sides(sides, rest, "What do you want to spend, and on which token?", steps)

    def _sides(self, pattern: str, rest: str, ask: str, steps: list[Step]) -> Step:
        """The trade of ``rest`` read as ``pattern``'s src and dst; ``ask`` when it is not."""
        match = re.fullmatch(pattern, rest)
        if match is None:
            raise IntentError("needs_clarification", ask)
        return self._trade(match.group("src"), match.group("dst"), steps)

    def _trade(self, src: str, dst: str, steps: list[Step]) -> Step:
        if _AT_LEAST.search(dst.strip()):
            raise IntentError(
                "unsupported",
                "a swap is bounded by its slippage, not by a minimum amount: name the slippage "
                '(e.g. "with 1% slippage"); the plan shows the least it can receive',
            )
        paid = dollars(dst)  # "buy $500 of eth with usdc" spends 500 USDC
        if paid is not None and resolve_symbol(src.strip(), DOLLAR_TOKENS) is not None:
            src, dst = f"{paid[0]} {src}", paid[1]
        source, target = quantity(src), quantity(dst)
        referred = src.strip()  # "it", "the usdc", "half of it" (which is asked about)
        if (
            _PRONOUN.match(referred)
            or _HALF_PRONOUN.match(referred)
            or re.fullmatch(r"(?:all of )?the .+", referred)
        ):
            amount, token_in = self._amount_token(
                src, steps, default=None, ask="How much {symbol}?"
            )
            source = Quantity(amount, token_in)
            token_in = source.token_words
        else:
            token_in = token(source.token_words, self.context.symbols)
        both = _TWO_TOKENS.match(dst.strip())
        pair = [resolve_symbol(t, self.context.symbols) for t in both.groups()] if both else []
        if pair and all(pair):
            a, b = pair
            plain = source.amount and re.fullmatch(r"\d+(?:\.\d+)?", source.amount)
            half = f"{(Decimal(source.amount) / 2).normalize():f}" if plain else "some"
            raise IntentError(
                "needs_clarification",
                f'A swap goes into one token: split it, e.g. "swap {half} {token_in} to {a} and '
                f'{half} {token_in} to {b}"',
            )
        token_out = token(target.token_words, self.context.symbols)
        if token_in == token_out:
            raise IntentError("invalid_amount", f"cannot swap {token_in} into itself")
        if source.amount and target.amount:
            raise IntentError(
                "needs_clarification",
                f"Name either how much {token_in} to spend or how much {token_out} to get, not both",
            )
        if {token_in, token_out} == {"ETH", "WETH"}:
            amount = source.amount or target.amount
            if amount is None:
                raise IntentError("needs_clarification", f"How much {token_in}?")
            return {"action": "wrap" if token_in == "ETH" else "unwrap", "amount": amount}
        if target.amount:
            if not re.fullmatch(r"\d+(?:\.\d+)?", target.amount):
                raise IntentError(
                    "invalid_amount",
                    f"buying {target.amount} of {token_out} is not a fixed amount: name one",
                )
            return _swap_step(token_in, token_out, target.amount, "exact_out")
        if source.amount is None:
            raise IntentError("needs_clarification", f"How much {token_in} do you want to swap?")
        return _swap_step(token_in, token_out, source.amount, "exact_in")

    def _supply(self, rest: str, steps: list[Step], addresses: dict[str, str]) -> Step:
        amount, symbol = self._amount_token(
            rest, steps, default=None, ask="How much {symbol} do you want to supply?"
        )
        return {"action": "supply", "protocol": "aave-v3", "token": symbol, "amount": amount}

    def _withdraw(self, rest: str, steps: list[Step], addresses: dict[str, str]) -> Step:
        amount, symbol = self._amount_token(rest, steps, default="max", ask="")
        return {"action": "withdraw", "protocol": "aave-v3", "token": symbol, "amount": amount}

    def _borrow(self, rest: str, steps: list[Step], addresses: dict[str, str]) -> Step:
        most = _AS_MUCH.match(rest)
        if most is not None:  # a debt right at the liquidation line: never planned
            named = most.group("a") or most.group("b") or most.group("c") or ""
            symbol = resolve_symbol(named, self.context.symbols)  # "the max amount I can": None
            raise IntentError(
                "invalid_amount",
                f'borrow a fixed amount{f" of {symbol}" if symbol else ""}: "how much can I '
                'borrow?" says what your collateral on Aave covers',
            )
        amount, symbol = self._amount_token(
            rest, steps, default=None, ask="How much {symbol} do you want to borrow?"
        )
        if not re.fullmatch(r"\d+(?:\.\d+)?", amount):
            raise IntentError(
                "invalid_amount",
                f'borrow a fixed amount of {symbol}, not {amount}: "how much can I borrow?" '
                "says what your collateral on Aave covers",
            )
        return {"action": "borrow", "protocol": "aave-v3", "token": symbol, "amount": amount}

    def _repay(self, rest: str, steps: list[Step], addresses: dict[str, str]) -> Step:
        paying = re.fullmatch(
            r"(?P<what>.+?)\s+(?:with|using)\s+(?:my\s+|the\s+)?(?P<other>.+)", rest
        )
        if paying is not None and not _PRONOUN.match(paying.group("other")):
            owed = quantity(_DEBT.sub("", paying.group("what")))
            debt = token(owed.token_words, self.context.symbols)
            other = token(paying.group("other"), self.context.symbols)
            if other != debt:
                amount = owed.amount if owed.amount and owed.amount[0].isdigit() else "<amount>"
                raise IntentError(
                    "needs_clarification",
                    f"Aave is repaid in the token borrowed: get the {debt} first, e.g. "
                    f'"buy {amount} {debt} with {other} then repay it"',
                )
            rest = paying.group("what")
        rest = _DEBT.sub(
            "",
            re.sub(r"^(?:my|the)\s+", "", rest.strip())
            if rest.strip().startswith(("my ", "the ")) and _DEBT.search(rest)
            else rest,
        )
        amount, symbol = self._amount_token(rest, steps, default="max", ask="")
        return {"action": "repay", "protocol": "aave-v3", "token": symbol, "amount": amount}

    def _transfer(self, rest: str, steps: list[Step], addresses: dict[str, str]) -> Step:
        match = re.fullmatch(r"(?P<what>.+?)\s+to\s+(?P<to>\S+)", rest)
        if match is None:
            what = rest
            amount, symbol = self._amount_token(
                what, steps, default=None, ask="How much {symbol} do you want to send?"
            )
            raise IntentError(
                "needs_clarification",
                f"Which address should receive the {symbol}? Write it out in full (0x...)",
            )
        recipient = addresses.get(match.group("to"))
        if recipient is None:
            raise IntentError(
                "invalid_address",
                f"{match.group('to')!r} is not an address: write the recipient's full 0x address",
            )
        amount, symbol = self._amount_token(
            match.group("what"), steps, default=None, ask="How much {symbol} do you want to send?"
        )
        if not is_address(recipient):
            raise IntentError("invalid_address", f"{recipient} is not a 20-byte 0x address")
        if recipient != recipient.lower() and not is_checksum_address(recipient):
            raise IntentError(
                "invalid_address",
                f"{recipient} has a wrong checksum (mixed case): check it for typos",
            )
        return {
            "action": "transfer",
            "token": symbol,
            "amount": amount,
            "to": to_checksum_address(recipient),
        }

    def _wrap(self, rest: str, steps: list[Step], addresses: dict[str, str]) -> Step:
        amount, symbol = self._amount_token(
            rest or "eth", steps, default=None, ask="How much ETH do you want to wrap?"
        )
        if symbol != "ETH":
            raise IntentError("invalid_amount", f"only ETH can be wrapped, not {symbol}")
        return {"action": "wrap", "amount": amount}

    def _unwrap(self, rest: str, steps: list[Step], addresses: dict[str, str]) -> Step:
        amount, symbol = self._amount_token(
            rest or "weth", steps, default=None, ask="How much WETH do you want to unwrap?"
        )
        if symbol not in ("WETH", "ETH"):
            raise IntentError("invalid_amount", f"only WETH can be unwrapped, not {symbol}")
        return {"action": "unwrap", "amount": amount}


def one_step(text: str) -> tuple[str, str, str] | None:
    """The action, the verb as said and the rest of a request of one step ("please purchase eth
    with usdc" is ("buy", "purchase", "eth with usdc")), else None: where a reply to a question
    about it goes."""
    lowered = _POLITE.sub("", " ".join(text.lower().split())).strip()
    if len([c for c in _SPLIT.split(lowered) if c]) != 1 or _ELIDED.search(lowered):
        return None
    match = _VERB.match(lowered)
    if match is None:
        return None
    said = match.group("verb")
    return _kind(said), said, match.group("rest")


def _kind(said: str) -> str:
    """The action a verb as said names: "purchase" is a buy, "pay back" a repay."""
    return next(kind for kind, pattern in _VERBS if re.fullmatch(pattern, said))


def _elided(clause: str) -> list[str]:
    """``clause`` as clauses of its own verb: "supply 100 usdc and 50 dai" is two supplies."""
    match = _VERB.match(clause)
    if match is None:
        return [clause]
    verb = match.group("verb")
    return [f"{verb} {part}" for part in _ELIDED.split(match.group("rest"))]


def _reslipped(history: Sequence[tuple[str, Plan]], bps: int) -> list[Step]:
    """The previous plan's steps, its swaps at ``bps`` of slippage."""
    steps = [dict(step) for step in history[-1][1]["steps"]] if history else []
    if not any(step["action"] == "swap" for step in steps):
        raise IntentError(
            "needs_clarification",
            "There is no earlier swap here to change the slippage of: say the whole request, "
            "e.g. swap 1 ETH for USDC with 1% slippage",
        )
    for step in steps:
        if step["action"] == "swap":
            step["max_slippage_bps"] = bps
    return steps


def _plan(intent: str, steps: list[Step]) -> Plan:
    return {"intent": intent, "summary": summarise(steps), "risk": risk_of(steps), "steps": steps}


def _swap_step(token_in: str, token_out: str, amount: str, kind: str) -> Step:
    return {
        "action": "swap",
        "protocol": "uniswap-v3",
        "token_in": token_in,
        "token_out": token_out,
        "amount": amount,
        "amount_kind": kind,
    }
