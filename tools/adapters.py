"""Every protocol adapter, and the one that handles a given action."""

from __future__ import annotations

from tools.aave_v3.adapter import AaveV3Adapter
from tools.actions import Action
from tools.erc20.adapter import Erc20Adapter
from tools.protocol import ProtocolAdapter
from tools.uniswap_v3.adapter import UniswapV3Adapter
from tools.weth.adapter import WethAdapter

ADAPTERS: tuple[ProtocolAdapter, ...] = (
    UniswapV3Adapter(),
    AaveV3Adapter(),
    WethAdapter(),
    Erc20Adapter(),
)


def adapter_for(action: Action) -> ProtocolAdapter:
    return next(a for a in ADAPTERS if a.handles(action))
