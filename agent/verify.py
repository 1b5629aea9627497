"""Check what execution really did against what the simulation said it would do.

A token's real change may differ from the simulated one by the slippage bound (the chain may have
moved); ETH may differ by the gas actually paid, which the simulation only estimates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tools.erc20.reads import Token, balance, token
from tools.protocol import ChainContext
from tools.tx import NATIVE

TOLERANCE_BPS = 100


def balances_of(ctx: ChainContext, symbols: Iterable[str]) -> dict[str, int]:
    return {s: balance(ctx.w3, token(ctx.w3, ctx.book, s), ctx.wallet) for s in symbols}


def verify(
    ctx: ChainContext, simulated: Mapping[str, int], actual: Mapping[str, int], fees_paid: int
) -> tuple[str, ...]:
    """Every token whose real change is outside the tolerance, in words; empty when all agree."""
    problems = []
    for symbol in sorted(set(simulated) | set(actual)):
        expected, got = simulated.get(symbol, 0), actual.get(symbol, 0)
        slack = abs(expected) * TOLERANCE_BPS // 10_000 + 1
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
    simulated: Mapping[str, int],
    again: Mapping[str, int],
    bound_bps: int,
    fees: int,
) -> tuple[str, ...]:
    """Tokens a fresh simulation says the wallet would now get less of (or spend more of) than the
    first one did, by more than ``bound_bps``, in words; better outcomes are not a problem. ETH may
    also differ by the network fees (``fees``: the plan's gas at today's price), which move with
    every block."""
    problems = []
    for symbol in sorted(set(simulated) | set(again)):
        before, now = simulated.get(symbol, 0), again.get(symbol, 0)
        slack = abs(before) * bound_bps // 10_000 + 1 + (fees if symbol == NATIVE else 0)
        if before - now > slack:
            tok = token(ctx.w3, ctx.book, symbol)
            problems.append(f"{symbol} {_signed(tok, before)} -> {_signed(tok, now)}")
    return tuple(problems)


def _signed(tok: Token, raw: int) -> str:
    return ("+" if raw >= 0 else "-") + tok.show(abs(raw))
