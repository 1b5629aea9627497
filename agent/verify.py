"""Check what execution really did against what the simulation said it would do.

A token's real change may differ from the simulated one by the slippage bound (the chain may have
moved); ETH may differ by the gas actually paid, which the simulation only estimates. The bound is
taken of what each step moves, not of the plan's net change: "swap 0.1 ETH to USDC then supply it"
nets 0 USDC, and a swap output 0.01 % lower than simulated is still within its bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tools.erc20.reads import Token, balance, token
from tools.protocol import ChainContext
from tools.tx import NATIVE

TOLERANCE_BPS = 100


def balances_of(
    ctx: ChainContext, symbols: Iterable[str], block: str | int = "latest"
) -> dict[str, int]:
    """The wallet's balances of ``symbols`` now, or after block number ``block``."""
    return {s: balance(ctx.w3, token(ctx.w3, ctx.book, s), ctx.wallet, block) for s in symbols}


def verify(
    ctx: ChainContext,
    simulated: Sequence[Mapping[str, int]],
    actual: Mapping[str, int],
    fees_paid: int,
) -> tuple[str, ...]:
    """Every token whose real change is outside the tolerance of the steps' simulated changes
    (``simulated``, one mapping a step), in words; empty when all agree."""
    expected_total, moved = net(simulated), _moved(simulated)
    problems = []
    for symbol in sorted(set(expected_total) | set(actual)):
        expected, got = expected_total.get(symbol, 0), actual.get(symbol, 0)
        slack = moved.get(symbol, 0) * TOLERANCE_BPS // 10_000 + 1
        if symbol == NATIVE:
            slack += 2 * fees_paid
        if abs(got - expected) > slack:
            tok = token(ctx.w3, ctx.book, symbol)
            problems.append(
                f"{symbol} changed by {tok.show(got) if got >= 0 else '-' + tok.show(-got)}, "
                f"simulation said {tok.show(expected) if expected >= 0 else '-' + tok.show(-expected)}"
            )
    return tuple(problems)


def worse(
    ctx: ChainContext,
    simulated: Sequence[Mapping[str, int]],
    again: Sequence[Mapping[str, int]],
    bound_bps: int,
    fees: int,
) -> tuple[str, ...]:
    """Tokens a fresh simulation (``again``, one mapping a step) says the wallet would now get less
    of (or spend more of) than the first one did, by more than ``bound_bps`` of what the steps
    move, in words; better outcomes are not a problem. ETH may also differ by the network fees
    (``fees``: the plan's gas at today's price), which move with every block."""
    first, now_total, moved = net(simulated), net(again), _moved(simulated)
    problems = []
    for symbol in sorted(set(first) | set(now_total)):
        before, now = first.get(symbol, 0), now_total.get(symbol, 0)
        slack = moved.get(symbol, 0) * bound_bps // 10_000 + 1 + (fees if symbol == NATIVE else 0)
        if before - now > slack:
            tok = token(ctx.w3, ctx.book, symbol)
            problems.append(f"{symbol} {_signed(tok, before)} -> {_signed(tok, now)}")
    return tuple(problems)


def net(steps: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """What the steps change in all, per token."""
    total: dict[str, int] = {}
    for step in steps:
        for symbol, raw in step.items():
            total[symbol] = total.get(symbol, 0) + raw
    return total


def _moved(steps: Sequence[Mapping[str, int]]) -> dict[str, int]:
    """How much of each token the steps move, the more of what comes in and what goes out (what a
    bound in bps is taken of): a swap's output, and a supply of it, are one amount moved."""
    into: dict[str, int] = {}
    out: dict[str, int] = {}
    for step in steps:
        for symbol, raw in step.items():
            side = into if raw > 0 else out
            side[symbol] = side.get(symbol, 0) + abs(raw)
    return {s: max(into.get(s, 0), out.get(s, 0)) for s in into.keys() | out.keys()}


def _signed(tok: Token, raw: int) -> str:
    return ("+" if raw >= 0 else "-") + tok.show(abs(raw))
