"""The policy rules. Each is pure: it takes the decoded batch, the session's policy, prices,
simulation and the ledger's usage (all read before), and returns one verdict with a rule id and a
message in words. The engine records the outcome after."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal
from functools import cached_property

from policies.ledger import Usage
from policies.model import Policy
from tools.chain.addressbook import AddressBook
from tools.decode import ROUTER_ITSELF
from tools.tx import NATIVE, DecodedCall, SimulatedCall

UNLIMITED = 2**255
_OUTPUTS = {"unwrap-output", "sweep-output", "refund"}


@dataclass(frozen=True)
class Verdict:
    rule: str
    allowed: bool
    message: str


@dataclass(frozen=True)
class CallSpend:
    """What one call spends, in base units per token (approvals included) and in USD cents (None
    when a token has no usable price: the engine fails closed on it).

    ``gross_tokens`` is all the call moves, for the per-transaction caps. ``tokens`` leaves out
    what an earlier swap of the same batch put in the wallet, whose value was already counted as
    that swap's input: "swap 1 ETH to USDC then supply it" uses 3,000 USD of an allowance, not
    6,000. That is what the allowances count and the ledger reserves."""

    tokens: Mapping[str, int]
    usd_cents: int | None
    gross_tokens: Mapping[str, int]
    gross_usd_cents: int | None


@dataclass(frozen=True)
class Batch:
    """The decoded calls of one decision, their simulation, and what each one spends."""

    calls: Sequence[DecodedCall]
    simulated: Sequence[SimulatedCall]
    health: Sequence[Decimal | None]
    prices: Mapping[str, Decimal]
    decimals: Mapping[str, int]
    book: AddressBook
    wallet: str
    now: int
    spends: Sequence[CallSpend]

    @cached_property
    def flat(self) -> tuple[DecodedCall, ...]:
        """Every call, each followed by the calls it wraps (a multicall's)."""
        return tuple(c for call in self.calls for c in (call, *call.inner))

    @cached_property
    def usd_cents(self) -> int:
        """What the whole batch counts against the allowances, in USD cents (unpriced calls count
        nothing here; the per-transaction rule denies them)."""
        return sum(s.usd_cents or 0 for s in self.spends)

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
    ) -> Batch:
        spends = spends_of(calls, simulated, prices, decimals)
        return cls(calls, simulated, health, prices, decimals, book, wallet, now, spends)

    def at(self, now: int, prices: Mapping[str, Decimal]) -> Batch:
        """The same calls at chain time ``now``, valued at ``prices`` (valued again only when
        they are other prices)."""
        if prices is self.prices:
            return replace(self, now=now)
        spends = spends_of(self.calls, self.simulated, prices, self.decimals)
        return replace(self, now=now, prices=prices, spends=spends)


def spends_of(
    calls: Sequence[DecodedCall],
    simulated: Sequence[SimulatedCall],
    prices: Mapping[str, Decimal],
    decimals: Mapping[str, int],
) -> tuple[CallSpend, ...]:
    """Per call: approvals count against the spend of their token; wrapping and unwrapping move
    value within the wallet and count nothing (what the WETH is then used for counts); what a
    protocol later pulls under an approval of the same batch is not counted twice; an unbounded
    pull (Aave's "max") is valued at what the simulation saw leave the wallet. What a swap of the
    batch received (seen in the simulation) covers later spending of that token in the allowances
    (`CallSpend.tokens`); nothing else does: what a borrow or a withdraw brings in counts when it
    is spent."""
    approved: dict[tuple[str, str], int] = {}
    swapped_in: dict[str, int] = {}
    out = []
    for call, sim in zip(calls, simulated, strict=True):
        tokens: dict[str, int] = {}
        if call.action in ("wrap", "unwrap"):
            out.append(CallSpend(tokens, 0, tokens, 0))
            continue
        if call.approval is not None and call.spender is not None:
            key = (call.approval.symbol, call.spender.lower())
            approved[key] = approved.get(key, 0) + call.approval.amount
            tokens[call.approval.symbol] = call.approval.amount
        for spent in call.spends:
            amount = spent.amount
            if amount >= UNLIMITED:
                amount = max(0, -sim.balance_deltas.get(spent.symbol, 0))
            key = (spent.symbol, call.call.to.lower())
            covered = min(amount, approved.get(key, 0)) if spent.symbol != NATIVE else 0
            approved[key] = approved.get(key, 0) - covered
            if amount - covered:
                tokens[spent.symbol] = tokens.get(spent.symbol, 0) + amount - covered
        counted: dict[str, int] = {}
        for symbol, amount in tokens.items():
            covered = min(amount, swapped_in.get(symbol, 0))
            if covered:
                swapped_in[symbol] -= covered
            if amount - covered:
                counted[symbol] = amount - covered
        if any(c.action == "swap" for c in (call, *call.inner)):
            for symbol, delta in sim.balance_deltas.items():
                if delta > 0:
                    swapped_in[symbol] = swapped_in.get(symbol, 0) + delta
        gross = _usd_cents(tokens, prices, decimals)
        usd = gross if counted == tokens else _usd_cents(counted, prices, decimals)
        out.append(CallSpend(counted, usd, tokens, gross))
    return tuple(out)


def _usd_cents(
    tokens: Mapping[str, int], prices: Mapping[str, Decimal], decimals: Mapping[str, int]
) -> int | None:
    total = Decimal(0)
    for symbol, raw in tokens.items():
        price = prices.get("WETH" if symbol == NATIVE else symbol)
        if not price or price <= 0:
            return None
        total += Decimal(raw).scaleb(-decimals[symbol]) * price
    return int((total * 100).to_integral_value(rounding=ROUND_CEILING))


def _usd(cents: int | Decimal) -> str:
    return f"{Decimal(cents) / 100:,.2f} USD"


Rule = Callable[[Policy, Batch, Usage], Verdict]


def active(
    policy: Policy, batch: Batch, usage: Usage, *, expires_at: int, revoked: bool
) -> Verdict:
    if revoked:
        return Verdict("session.active", False, "the session was revoked")
    if batch.now >= expires_at:
        return Verdict("session.active", False, "the session has expired")
    return Verdict(
        "session.active", True, f"session valid for {(expires_at - batch.now) // 60} more minutes"
    )


def known_calls(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    bad = [c for c in batch.flat if c.action == "unknown"]
    if bad:
        what = "; ".join(f"function {c.function} on {c.contract} ({c.call.to})" for c in bad)
        return Verdict(
            "calls.known",
            False,
            f"calls a contract or function outside the address book's protocols: {what}",
        )
    return Verdict(
        "calls.known", True, "every call is a known function of an address-book contract"
    )


def actions(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    allowed = set(policy.allow.actions)
    for call in batch.flat:
        if call.action == "transferFrom":
            return Verdict(
                "actions.allowed",
                False,
                "transferFrom is never allowed: it moves someone else's tokens",
            )
        if call.action in ("approve", "multicall") or call.action in _OUTPUTS:
            continue
        if call.action not in allowed:
            return Verdict("actions.allowed", False, f"{call.action} is not allowed by the policy")
    return Verdict("actions.allowed", True, "every action is allowed")


def protocols(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    for call in batch.calls:
        if (
            call.protocol in ("uniswap-v3", "aave-v3")
            and call.protocol not in policy.allow.protocols
        ):
            return Verdict(
                "protocols.allowed", False, f"{call.protocol} is not an allowed protocol"
            )
    return Verdict("protocols.allowed", True, "every protocol is allowed")


def selectors(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    if not policy.allow.selectors:
        return Verdict("selectors.allowed", True, "no selector list: actions decide")
    for call in batch.calls:
        selector = "0x" + call.call.selector.hex()
        if selector not in policy.allow.selectors:
            return Verdict(
                "selectors.allowed",
                False,
                f"selector {selector} ({call.function}) is not in the policy's list",
            )
    return Verdict("selectors.allowed", True, "every selector is listed")


def tokens(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    allowed = set(policy.allow.tokens)
    touched: set[str] = set()
    for call in batch.flat:
        touched |= {s.symbol for s in call.spends}
        if call.approval is not None:
            touched.add(call.approval.symbol)
        for key in ("asset", "token_in", "token_out"):
            if key in call.args:
                symbol = batch.book.symbol_of(str(call.args[key]))
                touched.add(symbol or str(call.args[key]))
        if call.contract.startswith("token:"):
            touched.add(call.contract.removeprefix("token:"))
    if any(c.action in ("swap",) and c.call.value for c in batch.flat):
        touched.add(NATIVE)
    outside = sorted(t for t in touched if t not in allowed)
    if outside:
        return Verdict(
            "tokens.allowed", False, f"tokens not allowed by the policy: {', '.join(outside)}"
        )
    return Verdict("tokens.allowed", True, f"tokens within {', '.join(sorted(touched)) or 'none'}")


def approvals(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    for index, call in enumerate(batch.calls):
        if call.approval is None:
            continue
        assert call.spender is not None
        if batch.book.spender_protocol(call.spender) not in policy.allow.protocols:
            return Verdict(
                "approvals.exact",
                False,
                f"approval of {call.approval.symbol} to {call.spender}, which is not an allowed protocol",
            )
        if call.approval.amount >= UNLIMITED:
            return Verdict(
                "approvals.exact",
                False,
                f"unlimited approval of {call.approval.symbol}: approvals must be exact",
            )
        pulled = sum(
            (s.amount if s.amount < UNLIMITED else call.approval.amount)
            for later in batch.calls[index + 1 :]
            if later.call.to.lower() == call.spender.lower()
            for s in later.spends
            if s.symbol == call.approval.symbol
        )
        if call.approval.amount > pulled:
            return Verdict(
                "approvals.exact",
                False,
                f"approval of {call.approval.amount} base units of {call.approval.symbol} is more than the batch spends through it ({pulled})",
            )
    return Verdict("approvals.exact", True, "approvals are exact and only to allowed protocols")


def recipients(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    wallet = batch.wallet.lower()
    allowed = {wallet} | {r.lower() for r in policy.allow.recipients}
    for call in batch.calls:
        routed_out = False
        for inner in call.inner:
            if inner.action in ("unwrap-output", "sweep-output") and all(
                r.lower() == wallet for r in inner.recipients
            ):
                routed_out = True
        for part in (call, *call.inner) if not call.inner else call.inner:
            for recipient in part.recipients:
                r = recipient.lower()
                if part.action == "transfer":
                    if r not in allowed:
                        kind = "ETH" if not part.call.data else "tokens"
                        return Verdict(
                            "recipients.allowed",
                            False,
                            f"{kind} sent to {recipient}, which the policy does not allow",
                        )
                elif r == ROUTER_ITSELF.lower() and routed_out:
                    continue
                elif r != wallet:
                    return Verdict(
                        "recipients.allowed",
                        False,
                        f"{part.action} pays out to {recipient}, not the wallet",
                    )
    return Verdict(
        "recipients.allowed", True, "every output goes to the wallet or an allowed recipient"
    )


def slippage(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    worst = Decimal(0)
    for call, sim in zip(batch.calls, batch.simulated, strict=True):
        for swap in (c for c in (call, *call.inner) if c.action == "swap"):
            args = swap.args
            out_symbol = batch.book.symbol_of(str(args["token_out"])) or ""
            in_symbol = batch.book.symbol_of(str(args["token_in"])) or ""
            if args["exact_in"]:
                received = (
                    sim.balance_deltas.get(out_symbol, 0)
                    or sim.balance_deltas.get(NATIVE, 0) + sim.fee_wei
                )
                bound = int(args["min_out"])  # type: ignore[call-overload]
                if received <= 0:
                    return Verdict(
                        "slippage.max",
                        False,
                        "the swap's output could not be seen in the simulation",
                    )
                bps = Decimal(received - bound) * 10_000 / received
            else:
                spent = -(
                    sim.balance_deltas.get(in_symbol, 0)
                    or sim.balance_deltas.get(NATIVE, 0) + sim.fee_wei
                )
                bound = int(args["max_in"])  # type: ignore[call-overload]
                if spent <= 0:
                    return Verdict(
                        "slippage.max",
                        False,
                        "the swap's input could not be seen in the simulation",
                    )
                bps = Decimal(bound - spent) * 10_000 / spent
            worst = max(worst, bps)
    if worst > policy.slippage.max_bps + Decimal("0.5"):
        return Verdict(
            "slippage.max",
            False,
            f"slippage bound of {worst:.0f} bps is above the policy's {policy.slippage.max_bps} bps",
        )
    return Verdict(
        "slippage.max", True, f"slippage at most {worst:.0f} bps (limit {policy.slippage.max_bps})"
    )


def per_transaction(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    cap = policy.limits.max_usd_per_tx * 100
    for call, spend in zip(batch.calls, batch.spends, strict=True):
        if spend.gross_usd_cents is None:
            return Verdict(
                "spend.per_tx",
                False,
                f"no usable on-chain price for a token of {call.function}: refusing to value it",
            )
        if spend.gross_usd_cents > cap:
            return Verdict(
                "spend.per_tx",
                False,
                f"{_usd(spend.gross_usd_cents)} in one transaction is above the {_usd(cap)} cap",
            )
        for symbol, limit in policy.limits.max_per_tx.items():
            raw = spend.gross_tokens.get(symbol.upper(), 0)
            if raw and Decimal(raw).scaleb(-batch.decimals[symbol.upper()]) > limit:
                return Verdict(
                    "spend.per_tx",
                    False,
                    f"{Decimal(raw).scaleb(-batch.decimals[symbol.upper()])} {symbol} in one transaction is above the {limit} {symbol} cap",
                )
    biggest = max((s.gross_usd_cents or 0 for s in batch.spends), default=0)
    return Verdict("spend.per_tx", True, f"largest transaction {_usd(biggest)} of {_usd(cap)}")


def windows(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    total_cents = batch.usd_cents
    notes = []
    for window in policy.limits.windows:
        if window.usd is not None:
            limit = window.usd * 100
            used = usage.usd_cents_since.get(window.seconds, 0)
            if used + total_cents > limit:
                left = max(Decimal(0), limit - used)
                return Verdict(
                    f"spend.window.{window.period}",
                    False,
                    f"{_usd(total_cents)} would exceed {window.label}: {_usd(left)} left",
                )
            notes.append(f"{_usd(limit - used - total_cents)} left of {window.label}")
        else:
            assert window.token is not None and window.amount is not None
            symbol = window.token.upper()
            raw = sum(s.tokens.get(symbol, 0) for s in batch.spends)
            used = usage.tokens_since.get(window.seconds, {}).get(symbol, 0)
            scale = batch.decimals.get(symbol, 18)
            if Decimal(used + raw).scaleb(-scale) > window.amount:
                left = max(Decimal(0), window.amount - Decimal(used).scaleb(-scale))
                return Verdict(
                    f"spend.window.{window.period}",
                    False,
                    f"{Decimal(raw).scaleb(-scale)} {symbol} would exceed {window.label}: {left} {symbol} left",
                )
            notes.append(
                f"{window.amount - Decimal(used + raw).scaleb(-scale)} {symbol} left of {window.label}"
            )
    if policy.limits.lifetime_usd is not None:
        cap = policy.limits.lifetime_usd * 100
        if usage.lifetime_usd_cents + total_cents > cap:
            return Verdict(
                "spend.lifetime",
                False,
                f"{_usd(total_cents)} would exceed the session's lifetime cap: {_usd(max(Decimal(0), cap - usage.lifetime_usd_cents))} left",
            )
        notes.append(f"{_usd(cap - usage.lifetime_usd_cents - total_cents)} left for the session")
    return Verdict("spend.windows", True, "; ".join(notes) or "no spend windows")


def tx_count(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    cap = policy.limits.max_txs
    if cap is not None and usage.txs + len(batch.calls) > cap:
        return Verdict(
            "tx.count",
            False,
            f"{len(batch.calls)} more transactions would exceed the session's {cap}: {max(0, cap - usage.txs)} left",
        )
    return Verdict(
        "tx.count",
        True,
        f"{usage.txs + len(batch.calls)} of {cap} transactions" if cap else "no transaction limit",
    )


def fees(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    cap = policy.limits.max_fee_eth
    if cap is None:
        return Verdict("fee.max", True, "no fee limit")
    worst = max((Decimal(s.fee_wei).scaleb(-18) for s in batch.simulated), default=Decimal(0))
    if worst > cap:
        return Verdict("fee.max", False, f"a fee of {worst:.6f} ETH is above the {cap} ETH limit")
    return Verdict("fee.max", True, f"highest fee {worst:.6f} ETH of {cap}")


def health(policy: Policy, batch: Batch, usage: Usage) -> Verdict:
    floor = policy.health.min_after_borrow_or_withdraw
    for call, hf in zip(batch.calls, batch.health, strict=True):
        if call.action in ("borrow", "withdraw") and hf is not None and hf < floor:
            return Verdict(
                "health.min",
                False,
                f"health factor {hf:.2f} after {call.action} is below the policy's {floor}",
            )
    return Verdict("health.min", True, f"health factor stays at or above {floor}")


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
