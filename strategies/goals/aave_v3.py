"""Aave V3 supply as a yield source."""

from __future__ import annotations

from typing import Any

LISTED = frozenset({"ETH", "WETH", "USDC", "DAI", "WBTC"})


class AaveV3Source:
    protocol = "aave-v3"
    name = "Aave V3"
    tier = "low"
    why = "the lowest-risk source here, an over-collateralised blue-chip lending market you can leave at any time"

    def supports(self, token: str) -> bool:
        return token in LISTED

    def steps(self, token: str, amount: str) -> list[dict[str, Any]]:
        return [{"action": "supply", "protocol": "aave-v3", "token": token, "amount": amount}]
