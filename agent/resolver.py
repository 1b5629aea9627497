"""Turn a plan step (DESIGN.md's JSON) into a concrete action: tokens from the address book,
decimals read on chain, "NN%" and "max" from live balances, positions or debt, "output:N" from what
step N produced in simulation.

Balances are the wallet's on-chain balances plus what earlier steps of the plan change in
simulation, so "swap ETH to USDC then supply all of it" supplies what the swap produced too.
"max" of ETH keeps `GAS_RESERVE_WEI` for gas. A borrow needs an explicit amount: a percentage or
"max" of borrowing power would put the position at the liquidation threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from agent.errors import BadInput
from strategies.amounts import parse_amount
from tools.aave_v3.reads import account
from tools.actions import ALL, Action, Borrow, Repay, Supply, Swap, Transfer, Unwrap, Withdraw, Wrap
from tools.chain.address import is_checksum_address
from tools.erc20.reads import Token, balance, token
from tools.protocol import ChainContext
from tools.tx import NATIVE

GAS_RESERVE_WEI = 10**16  # 0.01 ETH
_WHOLE = frozenset({"max", "100%"})
"""A withdraw or repay of all of a position, interest accrued until it is mined included: "100%"
fixed at the simulation left dust debt behind (QA)."""


class Base(NamedTuple):
    """What "max" and "NN%" of a token refer to, and what to say when it is nothing."""

    raw: int
    empty: str


class Resolver:
    def __init__(self, ctx: ChainContext, earlier: Sequence[Mapping[str, int]] = ()) -> None:
        """``earlier``: the balance changes of plans simulated before this one and counted as if
        they had been sent (a strategy's dry run)."""
        self.ctx = ctx
        self.earlier = earlier
        self._wallet: dict[str, int] = {}

    def token(self, symbol: str) -> Token:
        book = self.ctx.book
        if symbol.upper() not in book.symbols:
            raise BadInput(
                f"unknown token {symbol!r} on this chain",
                code="unknown_token",
                hint=f"known: {', '.join(book.symbols)}",
            )
        return token(self.ctx.w3, book, symbol)

    def wallet_balance(self, tok: Token, prior: Sequence[Mapping[str, int]]) -> int:
        """On-chain balance plus the changes of earlier simulated steps."""
        if tok.symbol not in self._wallet:
            held = balance(self.ctx.w3, tok, self.ctx.wallet)
            self._wallet[tok.symbol] = held + sum(d.get(tok.symbol, 0) for d in self.earlier)
        return self._wallet[tok.symbol] + sum(d.get(tok.symbol, 0) for d in prior)

    def resolve(self, step: Mapping[str, Any], prior: Sequence[Mapping[str, int]]) -> Action:
        """``prior[i]`` holds the simulated balance changes of step i + 1."""
        kind = step["action"]
        if kind == "swap":
            tin, tout = self.token(step["token_in"]), self.token(step["token_out"])
            exact_out = step.get("amount_kind") == "exact_out"
            amount_token = tout if exact_out else tin
            if exact_out and not _in_tokens(step["amount"]):
                raise BadInput(
                    "an exact-output swap needs an amount in tokens", code="invalid_amount"
                )
            raw = self._amount(step["amount"], amount_token, prior, self._wallet_base(tin, prior))
            if not exact_out:
                self._check_covers(tin, raw, prior)
            return Swap(
                tin,
                tout,
                "exact_out" if exact_out else "exact_in",
                raw,
                int(step["max_slippage_bps"]),
            )
        if kind == "wrap":
            eth = self.token(NATIVE)
            raw = self._amount(step["amount"], eth, prior, self._wallet_base(eth, prior))
            self._check_covers(eth, raw, prior)
            return Wrap(raw)
        if kind == "unwrap":
            weth = self.token("WETH")
            raw = self._amount(step["amount"], weth, prior, self._wallet_base(weth, prior))
            self._check_covers(weth, raw, prior)
            return Unwrap(raw)
        tok = self.token(step["token"])
        if kind == "supply":
            raw = self._amount(step["amount"], tok, prior, self._wallet_base(tok, prior))
            self._check_covers(tok, raw, prior)
            return Supply(tok, raw)
        if kind == "transfer":
            to = step["to"]
            if not is_checksum_address(to):
                raise BadInput(f"{to!r} is not a checksummed address", code="invalid_address")
            raw = self._amount(step["amount"], tok, prior, self._wallet_base(tok, prior))
            self._check_covers(tok, raw, prior)
            return Transfer(tok, raw, to)
        if kind == "borrow":
            if not _in_tokens(step["amount"], output=True):
                raise BadInput(
                    "a borrow needs an amount in tokens: a percentage or max of borrowing power "
                    "would put the position at the liquidation threshold",
                    code="invalid_amount",
                )
            return Borrow(tok, self._amount(step["amount"], tok, prior, Base(0, "")))
        if kind in ("withdraw", "repay"):
            debt = kind == "repay"
            in_tokens = _in_tokens(step["amount"], output=True)  # the position is not read then
            position = Base(0, "") if in_tokens else self._position(tok, debt=debt)
            if step["amount"] in _WHOLE:
                if not position.raw:  # Aave's own revert said it less clearly, exit 4 (QA)
                    raise BadInput(position.empty, code="invalid_amount")
                raw = ALL
            else:
                raw = self._amount(step["amount"], tok, prior, position)
            return Repay(tok, raw) if debt else Withdraw(tok, raw)
        raise BadInput(f"unsupported action {kind!r}", code="unsupported")

    def _wallet_base(self, tok: Token, prior: Sequence[Mapping[str, int]]) -> Base:
        """What "max" and "NN%" of a wallet balance refer to: all of it, less a gas reserve for ETH."""
        held = self.wallet_balance(tok, prior)
        if tok.symbol != NATIVE:
            return Base(held, f"you have no {tok.symbol} in the wallet")
        return Base(
            max(0, held - GAS_RESERVE_WEI),
            f"you have no ETH beyond the {tok.show(GAS_RESERVE_WEI)} ETH kept for gas",
        )

    def _position(self, tok: Token, *, debt: bool) -> Base:
        symbol = "WETH" if tok.symbol == NATIVE else tok.symbol
        held = 0
        for pos in account(self.ctx.w3, self.ctx.book, self.ctx.wallet).positions:
            if pos.symbol == symbol:
                held = pos.borrowed_raw if debt else pos.supplied_raw
        if debt:
            return Base(held, f"you owe no {tok.symbol} on Aave V3")
        return Base(held, f"you have no {tok.symbol} supplied on Aave V3")

    def _amount(self, text: str, tok: Token, prior: Sequence[Mapping[str, int]], base: Base) -> int:
        """Base units of ``text``: "1250.5", "50%" (of ``base``), "max" (``base``), "output:N"."""
        try:
            amount = parse_amount(text)
        except ValueError as error:
            raise BadInput(str(error), code="invalid_amount") from None
        if (amount.max or amount.percent is not None) and not base.raw:
            raise BadInput(base.empty, code="invalid_amount")
        if amount.max:
            raw = base.raw
        elif amount.percent is not None:
            raw = base.raw * int(amount.percent * 100) // 10_000
        elif amount.output is not None:
            raw = self._output(amount.output, tok, prior)
        else:
            assert amount.value is not None
            if not tok.holds_exactly(amount.value):
                raise BadInput(
                    f"{text} {tok.symbol} has more decimals than {tok.symbol}'s {tok.decimals}: "
                    "it cannot be sent as written",
                    code="invalid_amount",
                    hint=f"round it to {tok.decimals} decimals",
                )
            raw = tok.to_raw(amount.value)
        if raw <= 0:
            raise BadInput(f"the amount of {tok.symbol} comes to zero", code="invalid_amount")
        return raw

    @staticmethod
    def _output(n: int, tok: Token, prior: Sequence[Mapping[str, int]]) -> int:
        if not 1 <= n <= len(prior):
            raise BadInput(
                f"output:{n} refers to a step that does not come before this one",
                code="invalid_amount",
            )
        produced = prior[n - 1].get(tok.symbol, 0)
        if produced <= 0:
            raise BadInput(f"step {n} produces no {tok.symbol}", code="invalid_amount")
        return produced

    def _check_covers(self, tok: Token, raw: int, prior: Sequence[Mapping[str, int]]) -> None:
        held = self.wallet_balance(tok, prior)
        if raw > held:
            raise BadInput(
                f"the plan needs {tok.show(raw)} {tok.symbol} but the wallet holds {tok.brief(held)}",
                code="insufficient_balance",
            )


def _in_tokens(text: str, *, output: bool = False) -> bool:
    """Whether ``text`` is an amount of tokens: a decimal, or (with ``output``) what an earlier
    step produced."""
    try:
        amount = parse_amount(text)
    except ValueError:
        return False
    return amount.value is not None or (output and amount.output is not None)
