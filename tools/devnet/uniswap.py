"""Deploy Uniswap V3 from its npm artifacts and seed the pools with full-range liquidity."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import isqrt

from tools.devnet import artifacts
from tools.devnet.deployer import Deployer
from tools.devnet.params import POOLS, USD_PRICES

MAX_TICK = 887272
TICK_SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}
ZERO = "0x0000000000000000000000000000000000000000"
_FAR_DEADLINE = 2**40


def sqrt_price_x96(usd0: Decimal, dec0: int, usd1: Decimal, dec1: int) -> int:
    """sqrt(token1 per token0, in raw units) in Q64.96, computed exactly with integers."""
    price = Fraction(usd0) * 10**dec1 / (Fraction(usd1) * 10**dec0)
    return isqrt(price.numerator * 2**192 // price.denominator)


def full_range(fee: int) -> tuple[int, int]:
    spacing = TICK_SPACING[fee]
    upper = MAX_TICK // spacing * spacing
    return -upper, upper


def deploy_uniswap(d: Deployer, deployer: str, weth: str) -> dict[str, str]:
    factory = d.deploy(deployer, artifacts.load("v3-core", "UniswapV3Factory.sol/UniswapV3Factory"))
    factory_abi = artifacts.load("v3-core", "UniswapV3Factory.sol/UniswapV3Factory").abi
    d.transact(deployer, factory, factory_abi, "enableFeeAmount", 100, 1)
    npm_artifact = artifacts.load(
        "v3-periphery", "NonfungiblePositionManager.sol/NonfungiblePositionManager"
    )
    position_manager = d.deploy(deployer, npm_artifact, factory, weth, ZERO)
    router = d.deploy(
        deployer,
        artifacts.load("swap-router", "SwapRouter02.sol/SwapRouter02"),
        ZERO,
        factory,
        position_manager,
        weth,
    )
    quoter = d.deploy(
        deployer, artifacts.load("v3-periphery", "lens/QuoterV2.sol/QuoterV2"), factory, weth
    )
    return {
        "factory": factory,
        "swap_router02": router,
        "quoter_v2": quoter,
        "position_manager": position_manager,
    }


def seed_pools(
    d: Deployer,
    lp: str,
    position_manager: str,
    tokens: dict[str, str],
    decimals: dict[str, int],
    fund: object,
) -> None:
    """Create every pool of `POOLS` at the oracle prices and add full-range liquidity from `lp`.

    ``fund(account, symbol, raw_amount)`` gives the LP the tokens it deposits.
    """
    npm_abi = artifacts.load(
        "v3-periphery", "NonfungiblePositionManager.sol/NonfungiblePositionManager"
    ).abi
    erc20_abi = artifacts.load("aave", "mocks/tokens/MintableERC20.sol/MintableERC20").abi
    for spec in POOLS:
        a, b = sorted((spec.token_a, spec.token_b), key=lambda s: int(tokens[s], 16))
        raw = {
            s: int(Decimal(spec.usd_per_side) / USD_PRICES[s] * 10 ** decimals[s]) for s in (a, b)
        }
        price = sqrt_price_x96(USD_PRICES[a], decimals[a], USD_PRICES[b], decimals[b])
        d.transact(
            lp,
            position_manager,
            npm_abi,
            "createAndInitializePoolIfNecessary",
            tokens[a],
            tokens[b],
            spec.fee,
            price,
        )
        for s in (a, b):
            fund(lp, s, raw[s])  # type: ignore[operator]
            d.transact(lp, tokens[s], erc20_abi, "approve", position_manager, raw[s])
        lower, upper = full_range(spec.fee)
        params = (tokens[a], tokens[b], spec.fee, lower, upper, raw[a], raw[b], 0, 0, lp)
        d.transact(lp, position_manager, npm_abi, "mint", (*params, _FAR_DEADLINE))
