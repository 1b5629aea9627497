"""Aave V3 calls: supply, withdraw, borrow (variable rate) and repay, with Aave's own "max".

Native ETH is handled as WETH: supplied after wrapping, unwrapped after a withdraw or borrow.
A full repay approves the current debt plus one hour of interest at the current borrow rate
(the debt keeps growing until the transaction lands), repays with Aave's max and resets the
allowance left over to zero.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from tools.actions import ALL, Action, Borrow, Repay, Supply, Withdraw
from tools.chain.contracts import contract
from tools.erc20.adapter import approve
from tools.erc20.reads import Token, token
from tools.protocol import Built, ChainContext
from tools.tx import Call
from tools.weth.adapter import unwrap_call, wrap_call

VARIABLE_RATE = 2
_POOL = "Aave's Pool"
INTEREST_MARGIN_SECONDS = 3600
_SECONDS_PER_YEAR = 31_536_000
_RAY = 10**27


class AaveV3Adapter:
    name: ClassVar[str] = "aave-v3"

    def handles(self, action: Action) -> bool:
        return isinstance(action, Supply | Withdraw | Borrow | Repay)

    def build(self, ctx: ChainContext, action: Action) -> Built:
        assert isinstance(action, Supply | Withdraw | Borrow | Repay)
        native = action.token.address is None
        asset = token(ctx.w3, ctx.book, "WETH") if native else action.token
        assert asset.address is not None
        pool = contract(ctx.w3, "aave_pool", ctx.book.aave_v3.pool)
        symbol, units = action.token.symbol, action.token.show(action.amount)

        def pool_call(fn: str, args: list[object], label: str) -> Call:
            data = pool.encode_abi(fn, args=args)
            return Call(ctx.book.aave_v3.pool, bytes.fromhex(data[2:]), 0, label)

        calls: list[Call] = []
        if isinstance(action, Supply):
            if native:
                calls.append(wrap_call(ctx, action.amount))
            calls.append(approve(ctx, asset, pool.address, _POOL, action.amount))
            calls.append(
                pool_call(
                    "supply",
                    [asset.address, action.amount, ctx.wallet, 0],
                    f"supply {units} {symbol} to Aave V3",
                )
            )
        elif isinstance(action, Withdraw):
            what = f"all your supplied {symbol}" if action.amount == ALL else f"{units} {symbol}"
            calls.append(
                pool_call(
                    "withdraw",
                    [asset.address, action.amount, ctx.wallet],
                    f"withdraw {what} from Aave V3",
                )
            )
            if native:
                calls.append(
                    unwrap_call(
                        ctx, self._supplied(ctx, asset) if action.amount == ALL else action.amount
                    )
                )
        elif isinstance(action, Borrow):
            calls.append(
                pool_call(
                    "borrow",
                    [asset.address, action.amount, VARIABLE_RATE, 0, ctx.wallet],
                    f"borrow {units} {symbol} from Aave V3 at the variable rate",
                )
            )
            if native:
                calls.append(unwrap_call(ctx, action.amount))
        else:
            calls += self._repay(ctx, action, asset, pool_call)
        return Built(tuple(calls))

    def _repay(
        self,
        ctx: ChainContext,
        action: Repay,
        asset: Token,
        pool_call: Callable[[str, list[object], str], Call],
    ) -> list[Call]:
        assert asset.address is not None
        full = action.amount == ALL
        needed = self._debt_with_margin(ctx, asset) if full else action.amount
        calls: list[Call] = []
        if action.token.address is None:
            calls.append(wrap_call(ctx, needed))
        calls.append(approve(ctx, asset, ctx.book.aave_v3.pool, _POOL, needed))
        what = (  # as the step is described: a revert then says it once (`_unless_said`)
            f"all your {action.token.symbol} debt"
            if full
            else f"{action.token.show(needed)} {action.token.symbol} of debt"
        )
        calls.append(
            pool_call(
                "repay",
                [asset.address, action.amount, VARIABLE_RATE, ctx.wallet],
                f"repay {what} on Aave V3",
            )
        )
        if full:
            calls.append(approve(ctx, asset, ctx.book.aave_v3.pool, _POOL, 0))
        return calls

    @staticmethod
    def _reserve_tokens(ctx: ChainContext, asset: Token) -> tuple[str, str, str]:
        data = contract(ctx.w3, "aave_data_provider", ctx.book.aave_v3.data_provider)
        a_token, stable, variable = data.functions.getReserveTokensAddresses(asset.address).call()
        return a_token, stable, variable

    def _supplied(self, ctx: ChainContext, asset: Token) -> int:
        a_token, _, _ = self._reserve_tokens(ctx, asset)
        return int(contract(ctx.w3, "erc20", a_token).functions.balanceOf(ctx.wallet).call())

    def _debt_with_margin(self, ctx: ChainContext, asset: Token) -> int:
        _, _, variable = self._reserve_tokens(ctx, asset)
        debt = int(contract(ctx.w3, "erc20", variable).functions.balanceOf(ctx.wallet).call())
        data = contract(ctx.w3, "aave_data_provider", ctx.book.aave_v3.data_provider)
        rate = int(data.functions.getReserveData(asset.address).call()[6])
        return debt + debt * rate * INTEREST_MARGIN_SECONDS // (_RAY * _SECONDS_PER_YEAR) + 1
