"""Each protocol adapter against the shared contract, on the real devnet."""

from __future__ import annotations

from tests.adapters.contract import AdapterContract, Case
from tools.aave_v3.adapter import AaveV3Adapter
from tools.actions import ALL, Supply, Swap, Transfer, Unwrap, Withdraw, Wrap
from tools.erc20.adapter import Erc20Adapter
from tools.uniswap_v3.adapter import UniswapV3Adapter
from tools.weth.adapter import WethAdapter

ETH, USDC_6, DAI_18, WBTC_8 = 10**18, 10**6, 10**18, 10**8


class TestUniswapV3(AdapterContract):
    adapter = UniswapV3Adapter()
    cases = (
        Case(
            "ETH in, exact in",
            lambda t: Swap(t("ETH"), t("USDC"), "exact_in", ETH, 50),
            {"USDC": 1, "ETH": -1},
        ),
        Case(
            "ERC-20 in, exact in",
            lambda t: Swap(t("USDC"), t("DAI"), "exact_in", 1000 * USDC_6, 50),
            {"USDC": -1, "DAI": 1},
        ),
        Case(
            "exact out, two hops",
            lambda t: Swap(t("DAI"), t("WBTC"), "exact_out", WBTC_8 // 100, 50),
            {"DAI": -1, "WBTC": 1},
        ),
        Case(
            "ETH out",
            lambda t: Swap(t("USDC"), t("ETH"), "exact_in", 3000 * USDC_6, 50),
            {"USDC": -1, "ETH": 1},
        ),
        Case(
            "ETH in, exact out",
            lambda t: Swap(t("ETH"), t("DAI"), "exact_out", 1000 * DAI_18, 50),
            {"DAI": 1, "ETH": -1},
        ),
    )


class TestAaveV3(AdapterContract):
    adapter = AaveV3Adapter()
    cases = (
        Case("supply USDC", lambda t: Supply(t("USDC"), 1000 * USDC_6), {"USDC": -1}),
        Case("supply ETH as WETH", lambda t: Supply(t("ETH"), ETH), {"ETH": -1, "WETH": 0}),
    )


class TestWeth(AdapterContract):
    adapter = WethAdapter()
    cases = (Case("wrap", lambda t: Wrap(ETH), {"ETH": -1, "WETH": 1}),)


class TestErc20(AdapterContract):
    adapter = Erc20Adapter()
    cases = (
        Case(
            "send USDC to self",
            lambda t: Transfer(t("USDC"), 5 * USDC_6, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
            {"USDC": 0},
        ),
    )


def test_withdraw_all_and_unwrap_follow_aave_max(devnet) -> None:
    from tools.erc20.reads import token
    from tools.protocol import ChainContext
    from tools.simulator import Simulator

    ctx = ChainContext(devnet.w3, devnet.book, devnet.wallet, now=0)
    t = lambda s: token(ctx.w3, ctx.book, s)  # noqa: E731
    supply = AaveV3Adapter().build(ctx, Supply(t("USDC"), 1000 * USDC_6)).calls
    withdraw = AaveV3Adapter().build(ctx, Withdraw(t("USDC"), ALL)).calls
    unwrap = WethAdapter().build(ctx, Unwrap(ETH)).calls
    wrap = WethAdapter().build(ctx, Wrap(ETH)).calls
    first, second = Simulator(ctx).simulate([supply, withdraw])
    assert first.deltas["USDC"] == -1000 * USDC_6
    assert second.deltas["USDC"] >= 1000 * USDC_6  # everything back, interest included
    _, unwrapped = Simulator(ctx).simulate([wrap, unwrap])
    assert unwrapped.deltas["WETH"] == -ETH
