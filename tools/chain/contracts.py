"""ABIs shipped in the protocol folders, and cached web3 contract objects built from them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

_TOOLS = Path(__file__).resolve().parents[1]
ABIS = {
    "erc20": "erc20/erc20.abi.json",
    "weth9": "weth/weth9.abi.json",
    "swap_router02": "uniswap_v3/swap_router02.abi.json",
    "quoter_v2": "uniswap_v3/quoter_v2.abi.json",
    "uniswap_factory": "uniswap_v3/factory.abi.json",
    "uniswap_pool": "uniswap_v3/pool.abi.json",
    "aave_pool": "aave_v3/pool.abi.json",
    "aave_data_provider": "aave_v3/data_provider.abi.json",
    "aave_oracle": "aave_v3/oracle.abi.json",
    "aave_aggregator": "aave_v3/aggregator.abi.json",
    "aave_addresses_provider": "aave_v3/addresses_provider.abi.json",
}


@cache
def abi(name: str) -> list[dict[str, Any]]:
    return list(json.loads((_TOOLS / ABIS[name]).read_text()))


_contracts: dict[tuple[int, str, str], Contract] = {}


def contract(w3: Web3, name: str, address: str) -> Contract:
    """A contract object for ``address`` with the ABI ``name``, built once per client."""
    key = (id(w3), name, address)
    found = _contracts.get(key)
    if found is None:
        found = _contracts[key] = w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=abi(name)
        )
    return found
