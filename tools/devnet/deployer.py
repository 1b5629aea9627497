"""Deploy and call contracts from anvil's unlocked accounts during the devnet bootstrap.

This is the one place besides the signer that sends transactions: it runs only against a fresh local
anvil, from anvil's own unlocked deployer accounts, and never holds the user's key.
"""

from __future__ import annotations

from typing import Any

from eth_abi import encode
from eth_utils import to_checksum_address
from web3 import Web3

from agent.errors import DefiAgentError
from tools.chain.plain import rpc
from tools.devnet.artifacts import Artifact


class BootstrapError(DefiAgentError):
    """A bootstrap transaction failed: the artifacts or the bootstrap order are wrong."""


# Estimates are taken at the latest block's timestamp; when the transaction lands a second later,
# Uniswap writes a new oracle observation and Aave accrues interest, which costs more gas than
# estimated. Bootstrap transactions therefore carry a fixed limit well above any of them.
_GAS = hex(15_000_000)


class Deployer:
    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def _send(self, tx: dict[str, Any], what: str) -> dict[str, Any]:
        receipt = rpc(self.w3, "eth_sendTransactionSync", {"gas": _GAS, **tx})
        if int(receipt["status"], 16) != 1:
            raise BootstrapError(f"devnet bootstrap: {what} reverted ({self._reason(tx, receipt)})")
        return receipt

    def _reason(self, tx: dict[str, Any], receipt: dict[str, Any]) -> str:
        """Replay the failed transaction as a call on the block before it, for its revert reason."""
        parent = hex(int(receipt["blockNumber"], 16) - 1)
        try:
            rpc(self.w3, "eth_call", {"gas": _GAS, **tx}, parent)
        except DefiAgentError as error:
            return error.message
        return f"gas used {int(receipt['gasUsed'], 16)}, the replay succeeded"

    def deploy(
        self, sender: str, artifact: Artifact, *args: Any, libraries: dict[str, str] | None = None
    ) -> str:
        constructor = next((e for e in artifact.abi if e["type"] == "constructor"), None)
        encoded = b""
        if constructor is not None:
            encoded = encode([_type(i) for i in constructor["inputs"]], list(args))
        data = artifact.linked(libraries or {}) + encoded
        receipt = self._send({"from": sender, "data": "0x" + data.hex()}, f"deploy {artifact.name}")
        return to_checksum_address(receipt["contractAddress"])

    def transact(
        self,
        sender: str,
        address: str,
        abi: list[dict[str, Any]],
        fn: str,
        *args: Any,
        value: int = 0,
    ) -> dict[str, Any]:
        data = self.w3.eth.contract(address=address, abi=abi).encode_abi(fn, args=list(args))
        tx = {"from": sender, "to": address, "data": data, "value": hex(value)}
        return self._send(tx, f"{fn} on {address}")

    def call(self, address: str, abi: list[dict[str, Any]], fn: str, *args: Any) -> Any:
        return getattr(self.w3.eth.contract(address=address, abi=abi).functions, fn)(*args).call()


def _type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_type(c) for c in param["components"])
        return f"({inner}){param['type'][len('tuple') :]}"
    return str(param["type"])
