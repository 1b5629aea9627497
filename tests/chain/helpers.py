"""Test-side transaction helpers: anvil's unlocked accounts send directly (tests only; the agent
itself signs only through agent.signer)."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from tools.chain.contracts import contract
from tools.chain.plain import rpc

TEST_GAS = 5_000_000
"""A fixed, generous gas limit: anvil's estimate is taken at the last block's timestamp, and Aave and
Uniswap spend more gas in a block with a new timestamp (interest and oracle updates), so an
estimated transaction can run out of gas when it lands a second later."""


def send(
    w3: Web3, sender: str, name: str, address: str, fn: str, *args: Any, value: int = 0
) -> dict[str, Any]:
    data = contract(w3, name, address).encode_abi(fn, args=list(args))
    tx = {"from": sender, "to": address, "data": data, "value": hex(value), "gas": hex(TEST_GAS)}
    receipt = rpc(w3, "eth_sendTransactionSync", tx)
    assert int(receipt["status"], 16) == 1, f"{fn} reverted"
    return receipt
