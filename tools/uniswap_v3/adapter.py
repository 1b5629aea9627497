"""Swaps through SwapRouter02, always as ``multicall(deadline, ...)`` so a stale transaction cannot
execute later at a worse price.

- ERC-20 in: an exact approval of the amount in (exact input) or the maximum in (exact output); for
  an exact output the allowance left over is reset to zero in the same step.
- Native ETH in: the ETH goes as the call's value and the router wraps it (plus ``refundETH`` for an
  exact output, so the unspent part comes back).
- Native ETH out: the router receives WETH and ``unwrapWETH9`` sends ETH to the wallet.
- The wallet is always the final recipient. Minimum out / maximum in come from the slippage bound,
  The best-priced route whose price impact is within the bound is used; when no route is, the
  swap is refused before anything is simulated.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from agent.errors import SimulationReverted
from tools.actions import Action, Swap
from tools.chain.contracts import contract
from tools.erc20.adapter import approve
from tools.erc20.reads import Token, token
from tools.protocol import Built, ChainContext
from tools.tx import Call
from tools.uniswap_v3.quote import Quote, quotes

ROUTER_ITSELF = "0x0000000000000000000000000000000000000002"  # SwapRouter02's ADDRESS_THIS
DEADLINE_SECONDS = 20 * 60
_BPS = 10_000


class PriceImpactTooHigh(SimulationReverted):
    default_code = "price_impact_too_high"

    def __init__(
        self, message: str, *, impact_bps: int, token_in: Token, amount_in: int, hint: str
    ) -> None:
        super().__init__(message, hint=hint)
        self.impact_bps = impact_bps
        """The least price impact of any route, in bps."""
        self.token_in, self.amount_in = token_in, amount_in
        """What the swap pays, in base units."""


def min_out(quote: Quote, bps: int) -> int:
    return quote.amount_out * (_BPS - bps) // _BPS


def max_in(quote: Quote, bps: int) -> int:
    return -(-quote.amount_in * (_BPS + bps) // _BPS)


class UniswapV3Adapter:
    name: ClassVar[str] = "uniswap-v3"

    def handles(self, action: Action) -> bool:
        return isinstance(action, Swap)

    def build(self, ctx: ChainContext, action: Action) -> Built:
        assert isinstance(action, Swap)
        tin, tout = self._erc20(ctx, action.token_in), self._erc20(ctx, action.token_out)
        ranked = quotes(ctx.w3, ctx.book, tin, tout, action.kind, action.amount)
        within = [q for q in ranked if q.price_impact_bps <= action.max_slippage_bps]
        quote = within[0] if within else min(ranked, key=lambda q: q.price_impact_bps)
        impact = quote.price_impact_bps
        if not within:
            raise PriceImpactTooHigh(
                f"swapping {action.token_in.brief(quote.amount_in)} {action.token_in.symbol} "
                f"would move the price by {impact / 100:.2f}% via {quote.route.describe()}, more "
                f"than the {Decimal(action.max_slippage_bps) / 100}% slippage bound",
                impact_bps=impact,
                token_in=action.token_in,
                amount_in=quote.amount_in,
                hint="swap a smaller amount, or allow more slippage",
            )
        router = ctx.book.uniswap_v3.swap_router02
        r = contract(ctx.w3, "swap_router02", router)
        eth_in, eth_out = action.token_in.address is None, action.token_out.address is None
        recipient = ROUTER_ITSELF if eth_out else ctx.wallet
        bound_in = max_in(quote, action.max_slippage_bps)
        bound_out = min_out(quote, action.max_slippage_bps)
        if action.kind == "exact_in":
            spend = quote.amount_in
            inner = [
                r.encode_abi("exactInput", args=[(quote.route.path(), recipient, spend, bound_out)])
            ]
        else:
            spend = bound_in
            params = (quote.route.path(reverse=True), recipient, quote.amount_out, bound_in)
            inner = [r.encode_abi("exactOutput", args=[params])]
        if eth_out:
            minimum = bound_out if action.kind == "exact_in" else quote.amount_out
            inner.append(r.encode_abi("unwrapWETH9", args=[minimum, ctx.wallet]))
        if eth_in and action.kind == "exact_out":
            inner.append(r.encode_abi("refundETH", args=[]))
        deadline = ctx.now + DEADLINE_SECONDS
        data = r.encode_abi("multicall", args=[deadline, [bytes.fromhex(x[2:]) for x in inner]])
        label = self._label(action, quote, bound_in, bound_out)
        swap = Call(router, bytes.fromhex(data[2:]), spend if eth_in else 0, label)
        calls: list[Call] = []
        if not eth_in:
            calls.append(approve(ctx, tin, router, "Uniswap's SwapRouter02", spend))
        calls.append(swap)
        if not eth_in and action.kind == "exact_out":
            calls.append(approve(ctx, tin, router, "Uniswap's SwapRouter02", 0))
        return Built(tuple(calls), quote)

    @staticmethod
    def _erc20(ctx: ChainContext, tok: Token) -> Token:
        """The ERC-20 a pool trades: WETH stands in for native ETH."""
        return token(ctx.w3, ctx.book, "WETH") if tok.address is None else tok

    @staticmethod
    def _label(action: Swap, quote: Quote, bound_in: int, bound_out: int) -> str:
        tin, tout = action.token_in, action.token_out
        if action.kind == "exact_in":
            return (
                f"swap {tin.show(quote.amount_in)} {tin.symbol} for at least "
                f"{tout.brief(bound_out)} {tout.symbol} via {quote.route.describe()}"
            )
        return (
            f"buy {tout.show(quote.amount_out)} {tout.symbol} for at most "
            f"{tin.brief(bound_in, up=True)} {tin.symbol} via {quote.route.describe()}"
        )
