"""The policy rules. Each is pure: it takes the decoded batch, the session's policy, prices,
simulation and the ledger's usage (all read before), and returns one verdict with a rule id and a
message in words. The engine records the outcome after."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import NamedTuple

from policies.ledger import Spent, Usage
from policies.model import Policy
from strategies.amounts import suggested
from strategies.tokens import same_asset
from tools.chain.addressbook import AddressBook
from tools.decode import ROUTER_ITSELF
from tools.tx import NATIVE, DecodedCall, SimulatedCall

UNLIMITED = 2**255
_PLUMBING = frozenset({"approve", "multicall", "unwrap-output", "sweep-output", "refund"})
"""What a batch does around its actions: judged by the other rules, not by the action list."""
_WITHIN_WALLET = ("wrap", "unwrap")
_BRINGS_IN = frozenset({"borrow", "withdraw"})
"""What puts tokens in the wallet against the session's health factor: judged by the health floor,
counted against no spend limit until spent."""
_CENT = Decimal("0.01")
_MICRO = Decimal("0.000001")


class Verdict(NamedTuple):
    rule: str
    allowed: bool
    message: str


class CallSpend(NamedTuple):
    """What one call spends, in base units per token (approvals included) and in USD cents (None
    when a token has no usable price: the engine fails closed on it).

    ``tokens`` is all the call moves out of the wallet: what the per-transaction caps and the
    windows in token units count, and the ledger reserves. ``usd_cents`` leaves out what an earlier
    swap of the same batch put in the wallet, whose value was already counted as that swap's
    input: "swap 1 ETH to USDC then supply it" uses 3,000 USD of a USD allowance, not 6,000. A
    window of 100 USDC still counts the USDC supplied, whatever swap brought it in."""

    tokens: Mapping[str, int]
    usd_cents: int | None
    gross_usd_cents: int | None


Rate = tuple[int, int] | None
"""An exact rate as (numerator, denominator); None where there is no usable price."""
_NOTHING = CallSpend(MappingProxyType({}), 0, 0)


class Batch(NamedTuple):
    """The decoded calls of one decision, their simulation, and what each one spends (a named
    tuple, like the calls in it: built on every decision)."""

    calls: Sequence[DecodedCall]
    simulated: Sequence[SimulatedCall]
    health: Sequence[Decimal | None]
    prices: Mapping[str, Decimal]
    decimals: Mapping[str, int]
    book: AddressBook
    wallet: str
    now: int
    spends: Sequence[CallSpend]
    usd_cents: int
    """What the whole batch counts against the allowances, in USD cents (unpriced calls count
    nothing here; the per-transaction rule denies them)."""
    flat: tuple[DecodedCall, ...]
    """Every call, each followed by the calls it wraps (a multicall's)."""
    actions: frozenset[str]
    """What the calls of `flat` do: a rule about borrows, say, looks here before it looks at
    each call."""
    after: tuple[CallSpend, ...] = ()
    """What plans decided before this one and not executed spend, decided as if they had been
    (the entries before this one in a strategy's dry run)."""
    received: Mapping[str, int] = MappingProxyType({})
    """What swaps of the same plan, already executed (and counted), put in the wallet: the rest
    of a resumed plan spending it counts it no more than the whole plan would have."""
    approved: Mapping[tuple[str, str], int] = MappingProxyType({})
    """What approvals of the same plan, already executed (and counted), let a spender pull, by
    (symbol, spender in lower case): the pull under one, in the rest of a resumed plan, is not
    counted again."""
    expires_at: int | None = None
    """When the session decided under expires: a window that has room only later says so."""

    @classmethod
    def of(
        cls,
        calls: Sequence[DecodedCall],
        simulated: Sequence[SimulatedCall],
        health: Sequence[Decimal | None],
        prices: Mapping[str, Decimal],
        decimals: Mapping[str, int],
        book: AddressBook,
        wallet: str,
        now: int,
        received: Mapping[str, int] = MappingProxyType({}),
        approved: Mapping[tuple[str, str], int] = MappingProxyType({}),
        expires_at: int | None = None,
    ) -> Batch:
        spends = spends_of(calls, simulated, prices, decimals, received, approved)
        flat: list[DecodedCall] = []
        for call in calls:
            flat.append(call)
            if call.inner:
                flat += call.inner
        return cls(
            calls,
            simulated,
            health,
            prices,
            decimals,
            book,
            wallet,
            now,
            spends,
            _counted(spends),
            tuple(flat),
            frozenset([call.action for call in flat]),
            (),
            received,
            approved,
            expires_at,
        )

    def at(
        self,
        now: int,
        prices: Mapping[str, Decimal],
        health: Sequence[Decimal | None] | None = None,
    ) -> Batch:
        """The same calls at chain time ``now``, valued at ``prices`` (valued again only when
        they are other prices), with ``health`` from a simulation made again, if given."""
        batch = self._replace(now=now, health=self.health if health is None else tuple(health))
        if prices is self.prices:
            return batch
        spends = spends_of(
            self.calls, self.simulated, prices, self.decimals, self.received, self.approved
        )
        return batch._replace(prices=prices, spends=spends, usd_cents=_counted(spends))


def swaps(call: DecodedCall) -> bool:
    """Whether ``call``, or a call it wraps (a multicall's), is a swap: what it puts in the
    wallet was bought with what it spent."""
    return call.action == "swap" or any(c.action == "swap" for c in call.inner)


def _counted(spends: Sequence[CallSpend]) -> int:
    return sum([s.usd_cents or 0 for s in spends])


def spends_of(
    calls: Sequence[DecodedCall],
    simulated: Sequence[SimulatedCall],
    prices: Mapping[str, Decimal],
    decimals: Mapping[str, int],
    received: Mapping[str, int] = MappingProxyType({}),
    approved_before: Mapping[tuple[str, str], int] = MappingProxyType({}),
) -> tuple[CallSpend, ...]:
    """Per call: approvals count against the spend of their token; wrapping and unwrapping move
    value within the wallet and count nothing (what the WETH is then used for counts); what a
    protocol later pulls under an approval of the same batch is not counted twice; an unbounded
    pull (Aave's "max") is valued at what the simulation saw leave the wallet. What a swap of the
    batch received (seen in the simulation) covers later spending of that token in the USD
    allowances (`CallSpend.usd_cents`); nothing else does: what a borrow or a withdraw brings in counts when it
    is spent. ``received`` is what swaps of the same plan executed before put in the wallet: it
    covers spending as the batch's own swaps do, and ``approved_before`` what approvals of it
    executed before let a protocol pull, as the batch's own approvals do."""
    approved: dict[tuple[str, str], int] = dict(approved_before)
    swapped_in: dict[str, int] = dict(received)
    rates: dict[str, Rate] = {}
    out = []
    for call, sim in zip(calls, simulated, strict=True):
        approval, paid = call.approval, call.spends
        if (approval is None and not paid) or call.action in _WITHIN_WALLET:
            out.append(_NOTHING)  # nothing leaves the wallet (a swap always pays: never here)
            continue
        tokens: dict[str, int] = {}
        if approval is not None and call.spender is not None:
            key = (approval.symbol, call.spender.lower())
            approved[key] = approved.get(key, 0) + approval.amount
            tokens[approval.symbol] = approval.amount
        if paid:
            target = call.call.to.lower()
            for _, symbol, amount in paid:
                if amount >= UNLIMITED:
                    amount = max(0, -sim.balance_deltas.get(symbol, 0))
                if symbol != NATIVE:
                    key = (symbol, target)
                    allowance = approved.get(key, 0)
                    if allowance:
                        covered = min(amount, allowance)
                        approved[key] = allowance - covered
                        amount -= covered
                if amount:
                    tokens[symbol] = tokens.get(symbol, 0) + amount
        counted = tokens
        if swapped_in and tokens:
            counted = {}
            for symbol, amount in tokens.items():
                covered = min(amount, swapped_in.get(symbol, 0))
                if covered:
                    swapped_in[symbol] -= covered
                if amount - covered:
                    counted[symbol] = amount - covered
        if call.action == "swap" or (call.inner and swaps(call)):
            for symbol, delta in sim.balance_deltas.items():
                if delta > 0:
                    swapped_in[symbol] = swapped_in.get(symbol, 0) + delta
        if not tokens:
            out.append(_NOTHING)
            continue
        for symbol in tokens:
            if symbol not in rates:
                rates[symbol] = _rate(symbol, prices, decimals)
        gross = _usd_cents(tokens, rates)
        usd = gross if counted == tokens else _usd_cents(counted, rates)
        out.append(CallSpend(tokens, usd, gross))
    return tuple(out)


def one_asset(tokens: Mapping[str, int], symbol: str) -> int:
    """How much of ``symbol`` ``tokens`` holds, ETH and WETH being one asset: a cap on either
    counts both, or "supply 2 ETH" (wrapped, then supplied as WETH) would pass an ETH cap of 1."""
    return sum(raw for held, raw in tokens.items() if same_asset(held, symbol))


def spent_as(spends: Sequence[Mapping[str, int]], symbol: str) -> str:
    """The asset a cap on ``symbol`` counted, as ``spends`` spend it: "ETH" for an ETH send under
    a WETH cap, "ETH and WETH" when both leave (a denial must not call 0.5 ETH sent "0.5 WETH")."""
    held = sorted(
        {s for tokens in spends for s, raw in tokens.items() if raw and same_asset(s, symbol)}
    )
    return " and ".join(held) if held else symbol


def value_cents(batch: Batch) -> int | None:
    """What the batch is worth to a person asked to confirm it, in USD cents: what it spends
    (`Batch.usd_cents`) and what it borrows, a debt however it is then used; None when a borrowed
    token has no usable price."""
    borrowed: dict[str, int] = {}
    for call in batch.calls:
        if call.action == "borrow":
            symbol = call.tokens[0]
            borrowed[symbol] = borrowed.get(symbol, 0) + int(call.args["amount"])  # type: ignore[call-overload]
    if not borrowed:
        return batch.usd_cents
    rates = {
        symbol: _rate(symbol, batch.prices, batch.decimals) if symbol in batch.decimals else None
        for symbol in borrowed
    }
    debt = _usd_cents(borrowed, rates)
    return None if debt is None else batch.usd_cents + debt


def _rate(symbol: str, prices: Mapping[str, Decimal], decimals: Mapping[str, int]) -> Rate:
    """USD cents per base unit of ``symbol`` as an exact fraction (numerator, denominator), or
    None when the token has no usable price."""
    price = prices.get("WETH" if symbol == NATIVE else symbol)
    if not price or not price.is_finite() or price <= 0:
        return None
    n, d = price.as_integer_ratio()
    return n * 100, d * 10 ** decimals[symbol]


def _usd_cents(tokens: Mapping[str, int], rates: Mapping[str, Rate]) -> int | None:
    """The USD value of ``tokens`` in cents, rounded up once, in exact integer arithmetic; None
    when a token has no usable price."""
    numerator, denominator = 0, 1
    for symbol, raw in tokens.items():
        rate = rates[symbol]
        if rate is None:
            return None
        n, d = rate
        if d == denominator:
            numerator += raw * n
        else:
            numerator, denominator = numerator * d + raw * n * denominator, denominator * d
    return -(-numerator // denominator)


def fits(policy: Policy, batch: Batch, usage: Usage) -> tuple[str, Decimal] | None:
    """When the batch spends one token of the wallet's (what later steps spend, a swap of the
    batch brought in: "swap WBTC to USDC then supply it") and only spend limits stand in its
    way: the most of that token the limits allow now, rounded down to four significant digits,
    in ETH when the batch wraps it first ("supply 2 ETH" spends WETH); else None. Each limit
    is scaled with the amount: what fits is the amount times the least of room / use over the
    per-transaction caps and the windows, in USD and in token units. A token a swap brings in
    grows a little faster than the amount as it shrinks (less price impact): with one in the
    batch, 1% is kept spare (QA: multi-step plans named nothing that fits)."""
    if any(c.action == "swap" and not c.args["exact_in"] for c in batch.flat):
        return None  # an exact-output swap names what it buys: less to spend is not its amount
    symbols = {symbol for spend in batch.spends for symbol, raw in spend.tokens.items() if raw}
    brought = {
        symbol
        for call, sim in zip(batch.calls, batch.simulated, strict=True)
        if swaps(call)
        for symbol, delta in sim.balance_deltas.items()
        if delta > 0
    }
    sources = symbols - brought
    if len(sources) != 1:
        return None
    (symbol,) = sources
    spent = sum(spend.tokens.get(symbol, 0) for spend in batch.spends)
    share = _share_that_fits(policy, batch, usage, exact=symbols == sources)
    if share is None or spent <= 0:
        return None
    if symbols != sources:
        share *= Fraction(99, 100)
    amount = Decimal(int(spent * share)).scaleb(-batch.decimals[symbol])
    if not amount:
        return None
    wrapped = symbol == "WETH" and any(c.action == "wrap" for c in batch.calls)
    return NATIVE if wrapped else symbol, suggested(amount)


def _share_that_fits(policy: Policy, batch: Batch, usage: Usage, *, exact: bool) -> Fraction | None:
    """The least, over the spend limits the batch uses, of what is left of each over what the
    batch uses of it; None when one is used up, or a value is unknown. ``exact``: the batch
    spends one token and nothing a swap of it brought in, so its USD use is valued exactly,
    not in cents rounded up (QA: "at most 4,999 USDC fits", where 5,000 passed)."""
    limits = policy.limits
    gross: list[int | Fraction | None] = (
        [_exact_cents(spend.tokens, batch) for spend in batch.spends]
        if exact
        else [spend.gross_usd_cents for spend in batch.spends]
    )
    if None in gross:
        return None
    counted = sum(gross) if exact else batch.usd_cents  # type: ignore[arg-type]
    pairs: list[tuple[int, int | Fraction]] = [
        (limits.max_usd_cents_per_tx, max(gross, default=0))  # type: ignore[type-var, arg-type]
    ]
    for cap_symbol, cap in limits.max_per_tx.items():
        scale = batch.decimals[cap_symbol]
        most = max((one_asset(s.tokens, cap_symbol) for s in batch.spends), default=0)
        pairs.append((int(cap.scaleb(scale)), most))
    for window in limits.windows:
        if window.usd_cents is not None:
            left = window.usd_cents - usage.usd_cents_since.get(window.seconds, 0)
            pairs.append((left, counted))
        else:
            assert window.token is not None and window.amount is not None
            scale = batch.decimals.get(window.token, 18)
            used = one_asset(usage.tokens_since.get(window.seconds, {}), window.token)
            raw = sum(one_asset(s.tokens, window.token) for s in batch.spends)
            pairs.append((int(window.amount.scaleb(scale)) - used, raw))
    if limits.lifetime_usd_cents is not None:
        pairs.append((limits.lifetime_usd_cents - usage.lifetime_usd_cents, counted))
    shares = [Fraction(max(0, room)) / use for room, use in pairs if use > 0]
    least = min(shares, default=None)
    return least if least is not None and 0 < least < 1 else None


def _exact_cents(tokens: Mapping[str, int], batch: Batch) -> Fraction | None:
    """The USD value of ``tokens`` in cents, exactly; None when a token has no usable price."""
    total = Fraction(0)
    for symbol, raw in tokens.items():
        rate = _rate(symbol, batch.prices, batch.decimals)
        if rate is None:
            return None
        total += Fraction(raw * rate[0], rate[1])
    return total


def _units(raw: int, decimals: int) -> str:
    """``raw`` base units in token units, without trailing zeros (31 DAI, not
    31.000000000000000000), rounded up to 6 decimals: what is above a limit stays above it
    (QA: "2,000.192832301493253102 DAI in one transaction")."""
    return _plain(Decimal(raw).scaleb(-decimals).quantize(_MICRO, ROUND_UP))


def _plain(amount: Decimal) -> str:
    return format(amount.normalize(), ",f")


def _usd(cents: int) -> str:
    whole, part = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole:,}.{part:02d} USD"


_KNOWN = Verdict("calls.known", True, "every call is a known function of an address-book contract")
_ACTIONS = Verdict("actions.allowed", True, "every action is allowed")
_PROTOCOLS = Verdict("protocols.allowed", True, "every protocol is allowed")
_NO_SELECTOR_LIST = Verdict("selectors.allowed", True, "no selector list: actions decide")
_SELECTORS = Verdict("selectors.allowed", True, "every selector is listed")
_APPROVALS = Verdict("approvals.exact", True, "approvals are exact and only to allowed protocols")
_RECIPIENTS = Verdict(
    "recipients.allowed", True, "every output goes to the wallet or an allowed recipient"
)
_NO_FEE_LIMIT = Verdict("fee.max", True, "no fee limit")
"""The verdicts of rules passed that have nothing to tell but that they passed: one each, built
once (a decision builds a verdict for every rule)."""


Rule = Callable[[Policy, Batch, Usage], Verdict]
NEW_SESSION = "start a new one to go on (`defi-agent session new`, or /session new in the chat)"


def active(
    policy: Policy,
    batch: Batch,
    usage: Usage,
    *,
    expires_at: int,
    revoked: bool,
    superseded_by: str | None = None,
    altered: bool = False,
    void: bool = False,
    foreign: bool = False,
) -> Verdict:
    if revoked:
        return Verdict("session.active", False, f"the session was revoked; {NEW_SESSION}")
    if foreign:
        return Verdict(
            "session.active",
            False,
            f"the session was started with another wallet key: it signs nothing for this wallet; "
            f"{NEW_SESSION}",
        )
    if altered:
        return Verdict(
            "session.active",
            False,
            "the session's policy or lifetime in the database is not what its key signed when it "
            f"was created (it was edited since): it signs nothing; {NEW_SESSION}",
        )
    if superseded_by is not None:
        return Verdict(
            "session.active",
            False,
            f"session {superseded_by} was started since this plan was decided, and is the one in "
            "effect: make the plan again to decide it under that session's limits",
        )
    if void:
        return Verdict(
            "session.active",
            False,
            f"the chain started over since the session began (a reset, a fork, or a restart after its "
            f"anvil was killed): it is void on this chain; {NEW_SESSION}",
        )
    if batch.now >= expires_at:
        return Verdict("session.active", False, f"the session has expired; {NEW_SESSION}")
    hours, minutes = divmod((expires_at - batch.now) // 60, 60)
    left = f"{hours}h {minutes:02d}m" if hours or minutes else "less than a minute"  # QA: "0h 00m"
    return Verdict("session.active", True, f"session valid for {left} more")


def known_calls(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    if "unknown" not in batch.actions:
        return _KNOWN
    what = "; ".join(
        f"function {c.function} on {c.contract} ({c.call.to})"
        for c in batch.flat
        if c.action == "unknown"
    )
    return Verdict(
        "calls.known",
        False,
        f"calls a contract or function outside the address book's protocols: {what}",
    )


def actions(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    allowed = policy.allow.actions
    if batch.actions.difference(_PLUMBING).issubset(allowed):
        return _ACTIONS
    call = next(c for c in batch.flat if c.action not in allowed and c.action not in _PLUMBING)
    if call.action == "transferFrom":
        return Verdict(
            "actions.allowed",
            False,
            "transferFrom is never allowed: it moves someone else's tokens",
        )
    why = _WHY_WRAPPED.get(call.action, "") if len(batch.flat) > 1 else ""
    return Verdict("actions.allowed", False, f"{call.action} is not allowed by the policy{why}")


_WHY_WRAPPED = {
    "wrap": " (ETH is wrapped into WETH before Aave takes it: allow wrap, or use WETH)",
    "unwrap": " (WETH is unwrapped to give ETH back: allow unwrap, or ask for WETH)",
}
"""Why a plan that names neither has a wrap or an unwrap in it (QA: "supply 0.3 ETH" was denied
for a wrap the user never asked for)."""


def protocols(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    for call in batch.calls:
        if (
            call.protocol in ("uniswap-v3", "aave-v3")
            and call.protocol not in policy.allow.protocols
        ):
            return Verdict(
                "protocols.allowed", False, f"{call.protocol} is not an allowed protocol"
            )
    return _PROTOCOLS


def selectors(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    if not policy.allow.selectors:
        return _NO_SELECTOR_LIST
    for call in batch.flat:  # a multicall's inner calls too: every swap is a multicall
        selector = "0x" + call.call.selector.hex()
        if selector not in policy.allow.selectors:
            return Verdict(
                "selectors.allowed",
                False,
                f"selector {selector} ({call.function}) is not in the policy's list",
            )
    return _SELECTORS


def tokens(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    touched = set().union(*[call.tokens for call in batch.calls])
    outside = sorted(touched.difference(policy.allow.tokens))
    if outside:
        wrapped = (
            " (Uniswap and Aave take ETH as WETH: allow WETH too)"
            if "WETH" in outside and NATIVE in touched and NATIVE not in outside
            else ""
        )
        return Verdict(
            "tokens.allowed",
            False,
            f"tokens not allowed by the policy: {', '.join(outside)}{wrapped}",
        )
    return Verdict("tokens.allowed", True, f"tokens within {', '.join(sorted(touched)) or 'none'}")


def approvals(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    if "approve" not in batch.actions:  # the only calls with an approval
        return _APPROVALS
    calls = batch.calls
    for index, call in enumerate(calls):
        approval, spender = call.approval, call.spender
        if approval is None:
            continue
        assert spender is not None
        _, symbol, amount = approval
        protocol = batch.book.spender_protocol(spender)
        if protocol not in policy.allow.protocols:
            whose = f"{protocol}'s contract" if protocol else "an address outside the protocols"
            return Verdict(
                "approvals.exact",
                False,
                f"approval of {symbol} to {spender} ({whose}), which the policy does not allow",
            )
        if amount >= UNLIMITED:
            return Verdict(
                "approvals.exact",
                False,
                f"unlimited approval of {symbol}: approvals must be exact",
            )
        target, pulled = spender.lower(), 0
        for later in calls[index + 1 :]:
            if later.spends and later.call.to.lower() == target:
                for _, paid, raw in later.spends:
                    if paid == symbol:
                        pulled += raw if raw < UNLIMITED else amount
        if amount > pulled:
            return Verdict(
                "approvals.exact",
                False,
                f"approval of {amount} base units of {symbol} is more than the batch spends through it ({pulled})",
            )
    return _APPROVALS


def recipients(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    """Addresses are compared checksummed, as the decoder reports them and the policy lists them."""
    wallet = batch.wallet
    for call in batch.calls:
        if not call.recipients:  # a multicall's are its inner calls' own
            continue
        for part in call.inner or (call,):
            for recipient in part.recipients:
                if recipient == wallet:
                    continue
                if part.action == "transfer":
                    if recipient not in policy.allow.recipients:
                        kind = "ETH" if not part.call.data else "tokens"
                        return Verdict(
                            "recipients.allowed",
                            False,
                            f"{kind} sent to {recipient}, which the policy does not allow",
                        )
                elif recipient != ROUTER_ITSELF or not _routed_out(call, wallet):
                    return Verdict(
                        "recipients.allowed",
                        False,
                        f"{part.action} pays out to {recipient}, not the wallet",
                    )
    return _RECIPIENTS


def _routed_out(multicall: DecodedCall, wallet: str) -> bool:
    """Whether a multicall that leaves a swap's output with the router then pays it out to the
    wallet (unwrapping or sweeping it)."""
    return any(
        inner.action in ("unwrap-output", "sweep-output")
        and all(r == wallet for r in inner.recipients)
        for inner in multicall.inner
    )


def slippage(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    """The worst bound in bps is kept as a fraction, compared exactly, and written out once."""
    worst, per = 0, 1
    for call, sim in zip(batch.calls, batch.simulated, strict=True):
        if not call.inner and call.action != "swap":
            continue
        for swap in call.inner or (call,):
            if swap.action != "swap":
                continue
            args = swap.args
            if args["exact_in"]:
                out_symbol = batch.book.symbol_of(str(args["token_out"])) or ""
                received = (
                    sim.balance_deltas.get(out_symbol, 0)
                    or sim.balance_deltas.get(NATIVE, 0) + sim.fee_wei
                )
                if received <= 0:
                    return Verdict(
                        "slippage.max",
                        False,
                        "the swap's output could not be seen in the simulation",
                    )
                bps, of = (received - int(args["min_out"])) * 10_000, received  # type: ignore[call-overload]
            else:
                in_symbol = batch.book.symbol_of(str(args["token_in"])) or ""
                spent = -(
                    sim.balance_deltas.get(in_symbol, 0)
                    or sim.balance_deltas.get(NATIVE, 0) + sim.fee_wei
                )
                if spent <= 0:
                    return Verdict(
                        "slippage.max",
                        False,
                        "the swap's input could not be seen in the simulation",
                    )
                bps, of = (int(args["max_in"]) - spent) * 10_000, spent  # type: ignore[call-overload]
            if bps * per > worst * of:
                worst, per = bps, of
    limit = policy.slippage.max_bps
    # In whole bps, a half rounded down: what is shown is what is compared. A bound up to half a
    # bps above the limit, as rounding a minimum output down gives, is the limit.
    shown = -((per - 2 * worst) // (2 * per))
    if shown > limit:
        return Verdict(
            "slippage.max",
            False,
            f"slippage bound of {shown} bps is above the policy's {limit} bps",
        )
    return Verdict("slippage.max", True, f"slippage at most {shown} bps (limit {limit})")


def per_transaction(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    cap = policy.limits.max_usd_cents_per_tx
    values = [spend.gross_usd_cents for spend in batch.spends]
    if None in values:
        call = batch.calls[values.index(None)]
        return Verdict(
            "spend.per_tx",
            False,
            f"no usable on-chain price for a token of {call.function}: refusing to value it",
        )
    biggest: int = max(values, default=0)  # type: ignore[type-var, assignment]
    if biggest > cap:
        return Verdict(
            "spend.per_tx",
            False,
            f"{_usd(biggest)} in one transaction is above the {_usd(cap)} cap",
        )
    for symbol, limit in policy.limits.max_per_tx.items():
        scale = batch.decimals[symbol]
        for spend in batch.spends:
            raw = one_asset(spend.tokens, symbol)
            if raw and Decimal(raw).scaleb(-scale) > limit:
                return Verdict(
                    "spend.per_tx",
                    False,
                    f"{_units(raw, scale)} {spent_as([spend.tokens], symbol)} in one transaction is above the {_plain(limit)} {symbol} cap",
                )
    brings = not batch.actions.isdisjoint(_BRINGS_IN)
    later = " (what a borrow or withdraw brings in counts when it is spent)" if brings else ""
    return Verdict(
        "spend.per_tx", True, f"largest transaction {_usd(biggest)} of {_usd(cap)}{later}"
    )


def windows(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    total_cents = batch.usd_cents
    notes = []
    for window in policy.limits.windows:
        if window.usd_cents is not None:
            limit = window.usd_cents
            used = usage.usd_cents_since.get(window.seconds, 0)
            if used + total_cents > limit:
                refill = _refill(
                    usage, batch.now, window.seconds, lambda s: s.usd_cents, total_cents, limit
                )
                return Verdict(
                    f"spend.window.{window.period}",
                    False,
                    f"{_usd(total_cents)} would exceed {window.label}: {_usd(max(0, limit - used))} left"
                    f"{_when(refill, batch, window.label)}",
                )
            notes.append(f"{_usd(limit - used - total_cents)} left of {window.label}")
        else:
            assert window.token is not None and window.amount is not None
            symbol = window.token
            raw = sum(one_asset(s.tokens, symbol) for s in batch.spends)
            used = one_asset(usage.tokens_since.get(window.seconds, {}), symbol)
            scale = batch.decimals.get(symbol, 18)
            if Decimal(used + raw).scaleb(-scale) > window.amount:
                left = _plain(max(Decimal(0), window.amount - Decimal(used).scaleb(-scale)))
                most = int(window.amount.scaleb(scale))
                refill = _refill(
                    usage,
                    batch.now,
                    window.seconds,
                    lambda s, symbol=symbol: one_asset(s.tokens, symbol),
                    raw,
                    most,
                )
                return Verdict(
                    f"spend.window.{window.period}",
                    False,
                    f"{_units(raw, scale)} {spent_as([s.tokens for s in batch.spends], symbol)} would exceed {window.label}: {left} {symbol} left"
                    f"{_when(refill, batch, window.label)}",
                )
            notes.append(
                f"{_plain(window.amount - Decimal(used + raw).scaleb(-scale))} {symbol} left of {window.label}"
            )
    cap = policy.limits.lifetime_usd_cents
    if cap is not None:
        if usage.lifetime_usd_cents + total_cents > cap:
            return Verdict(
                "spend.lifetime",
                False,
                f"{_usd(total_cents)} would exceed the session's lifetime cap: {_usd(max(0, cap - usage.lifetime_usd_cents))} left",
            )
        notes.append(f"{_usd(cap - usage.lifetime_usd_cents - total_cents)} left for the session")
    return Verdict("spend.windows", True, "; ".join(notes) or "no spend windows")


def _refill(
    usage: Usage, now: int, seconds: int, counted: Callable[[Spent], int], wanted: int, limit: int
) -> int | None:
    """The chain time from which a window of ``seconds`` has room for ``wanted`` again, as the
    spends in it age out, oldest first; None when ``wanted`` is more than the whole ``limit``."""
    if wanted > limit:
        return None
    inside = [s for s in usage.spent if s.at > now - seconds]
    excess = sum(counted(s) for s in inside) + wanted - limit
    for spend in inside:
        excess -= counted(spend)
        if excess <= 0:
            return spend.at + seconds
    return None


def _when(refill: int | None, batch: Batch, label: str) -> str:
    """When a denied window has room again, in words (QA: a denial said "0 ETH left" and no
    more: when would it refill?), unless the session has expired by then (QA: it promised room
    at the minute the session expired)."""
    if refill is None:
        return f", and this is more than {label} allows at all"
    if batch.expires_at is not None and refill >= batch.expires_at:
        return "; the session expires before it has room for this"
    days, rest = divmod(max(0, refill - batch.now), 86400)
    hours, minutes = divmod(-(-rest // 60), 60)  # rounded up: it has room then, not before
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes or not parts else []
    at = time.strftime("%Y-%m-%d %H:%M", time.localtime(refill))
    return f"; it has room for this in {' '.join(parts)} ({at} on the chain's clock)"


def tx_count(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    cap = policy.limits.max_txs
    more = len(batch.calls)
    if cap is not None and usage.txs + more > cap:
        return Verdict(
            "tx.count",
            False,
            f"{more} more transaction{'' if more == 1 else 's'} would exceed the session's {cap}: "
            f"{max(0, cap - usage.txs)} left",
        )
    return Verdict(
        "tx.count",
        True,
        f"{usage.txs + len(batch.calls)} of {cap} transactions" if cap else "no transaction limit",
    )


def fees(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    cap = policy.limits.max_fee_eth
    if cap is None:
        return _NO_FEE_LIMIT
    worst = max((Decimal(s.fee_wei).scaleb(-18) for s in batch.simulated), default=Decimal(0))
    if worst > cap:
        return Verdict("fee.max", False, f"a fee of {worst:.6f} ETH is above the {cap} ETH limit")
    return Verdict("fee.max", True, f"highest fee {worst:.6f} ETH of {cap}")


def health(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    floor = policy.health.min_after_borrow_or_withdraw
    for call, hf in zip(batch.calls, batch.health, strict=True):
        if call.action in _BRINGS_IN and hf is not None and hf < floor:
            return Verdict(
                "health.min",
                False,
                f"health factor {hf.quantize(_CENT, ROUND_DOWN)} after {call.action} is below the "
                f"policy's {floor}",  # rounded down: 1.4996 is not shown as 1.50 below 1.5
            )
    return Verdict("health.min", True, f"health factor stays at or above {floor}")


def borrow_fits(
    policy: Policy, batch: Batch, debt_before_usd: Decimal
) -> tuple[str, Decimal] | None:
    """When a batch with one borrow is denied by the health floor alone: the most of the
    borrowed token that keeps the floor, with 1% spare, to four significant digits (QA: cap
    denials named what fits, this one did not). The health factor after is collateral times
    its liquidation threshold over the debt, so that product is the simulated health factor
    times the debt after; ``debt_before_usd`` is the debt before the batch."""
    borrows = [
        (c, hf) for c, hf in zip(batch.calls, batch.health, strict=True) if c.action == "borrow"
    ]
    if len(borrows) != 1 or borrows[0][1] is None:
        return None
    (call, hf), floor = borrows[0], policy.health.min_after_borrow_or_withdraw
    symbol = call.tokens[0]
    price, scale = batch.prices.get(symbol), batch.decimals.get(symbol)
    if not price or scale is None:
        return None
    borrowed_usd = Decimal(int(call.args["amount"])).scaleb(-scale) * price  # type: ignore[call-overload]
    threshold_value = hf * (debt_before_usd + borrowed_usd)
    room = (threshold_value / floor - debt_before_usd) * Decimal("0.99") / price
    return (symbol, suggested(room)) if room > 0 else None


RULES: tuple[Rule, ...] = (
    known_calls,
    actions,
    protocols,
    selectors,
    tokens,
    approvals,
    recipients,
    slippage,
    per_transaction,
    windows,
    tx_count,
    fees,
    health,
)
