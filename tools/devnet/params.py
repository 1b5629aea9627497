"""What the devnet holds: prices, pools, Aave risk parameters, seeded positions and the user's wallet.

Risk parameters follow Aave V3's Ethereum market; interest-rate parameters are in RAY (1e27).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Bump when the bootstrap deploys or seeds anything differently: it is part of the cache key.
BOOTSTRAP_VERSION = 1
RAY = 10**27
USD_PRICES = {"WETH": Decimal(3000), "WBTC": Decimal(90000), "USDC": Decimal(1), "DAI": Decimal(1)}
TOKENS = {"USDC": ("USD Coin", 6), "DAI": ("Dai Stablecoin", 18), "WBTC": ("Wrapped BTC", 8)}


@dataclass(frozen=True)
class PoolSpec:
    token_a: str
    token_b: str
    fee: int
    usd_per_side: int


POOLS = (
    PoolSpec("WETH", "USDC", 500, 30_000_000),
    PoolSpec("WETH", "DAI", 3000, 15_000_000),
    PoolSpec("WBTC", "WETH", 3000, 30_000_000),
    PoolSpec("USDC", "DAI", 100, 10_000_000),
    # Deliberately thin: a swap of a fraction of a WBTC here breaches a 0.5 % slippage bound.
    PoolSpec("WBTC", "USDC", 3000, 450_000),
)


@dataclass(frozen=True)
class ReserveSpec:
    symbol: str
    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int
    reserve_factor_bps: int
    optimal_usage: Decimal
    slope1: Decimal
    slope2: Decimal


RESERVES = (
    ReserveSpec(
        "WETH", 8050, 8300, 10500, 1500, Decimal("0.80"), Decimal("0.033"), Decimal("0.80")
    ),
    ReserveSpec("WBTC", 7300, 7800, 10500, 2000, Decimal("0.45"), Decimal("0.04"), Decimal("3.00")),
    ReserveSpec(
        "USDC", 7700, 8000, 10450, 1000, Decimal("0.90"), Decimal("0.055"), Decimal("0.60")
    ),
    ReserveSpec("DAI", 6300, 7700, 10500, 1000, Decimal("0.90"), Decimal("0.055"), Decimal("0.75")),
)

# Another account's supply and borrowing, so that utilisation and rates are not zero.
SUPPLIER_SUPPLIES = {"USDC": 2_000_000, "DAI": 2_000_000, "WBTC": 50, "WETH": 3_000}
SUPPLIER_BORROWS = {"WBTC": 20}
BORROWER_SUPPLIES = {"WBTC": 400}
BORROWER_BORROWS = {"USDC": 1_300_000, "DAI": 1_100_000, "WETH": 1_500}

WALLET_ETH = 100
WALLET_TOKENS = {"USDC": 50_000, "DAI": 50_000, "WBTC": 2}
