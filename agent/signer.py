"""The signer: the only code in the agent that signs or sends a transaction.

Every send waits for its receipt, so the node's pending nonce is always the next one: nothing is
cached that a `chain reset` could make stale. It holds the wallet key and signs a call only when it carries a grant from the policy engine: an
EIP-712 authorisation of exactly this call (target, value, calldata, chain) signed by the key of a
session that is active at the chain's current time. The key never appears in a repr, a log or an
error message.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from hexbytes import HexBytes
from web3 import Web3

from agent.errors import DefiAgentError, PolicyDenied
from agent.seams import SignedTx
from policies.sessions import SessionStore, recover
from tools.chain.address import to_checksum_address
from tools.chain.rpc import rpc
from tools.tx import Call

DEVNET_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
"""anvil's first account, used on the devnet when no key is configured (a well-known test key)."""


class Signer:
    def __init__(self, w3: Web3, key: str, sessions: SessionStore, chain_id: int) -> None:
        self._account = Account.from_key(key)
        self.w3 = w3
        self.sessions = sessions
        self.chain_id = chain_id

    def __repr__(self) -> str:
        return f"Signer(wallet={self.address})"

    @property
    def address(self) -> str:
        return str(self._account.address)

    def _verify(self, call: Call, grant: dict[str, Any], now: int) -> None:
        message = grant["authorization"]
        body = message["message"]
        if (
            str(body["to"]).lower() != call.to.lower()
            or int(body["value"]) != call.value
            or str(body["data"]).lower() != "0x" + call.data.hex()
            or int(body["chainId"]) != self.chain_id
            or int(message["domain"]["chainId"]) != self.chain_id
        ):
            raise PolicyDenied(
                "the transaction differs from what the policy authorised; not signed"
            )
        session = self.sessions.get(str(body["sessionId"]))
        if session is None:
            raise PolicyDenied("the authorisation names an unknown session; not signed")
        if recover(message, grant["signature"]) != session.address:
            raise PolicyDenied("the authorisation is not signed by its session's key; not signed")
        if not session.active(now):
            raise PolicyDenied(f"session {session.id} is expired or revoked; not signed")

    def sign(self, call: Call, gas: int, grant: dict[str, Any]) -> SignedTx:
        header = rpc(self.w3, "eth_getBlockByNumber", "latest", False)
        self._verify(call, grant, int(header["timestamp"], 16))
        nonce = int(rpc(self.w3, "eth_getTransactionCount", self.address, "pending"), 16)
        base_fee = int(header.get("baseFeePerGas") or "0x0", 16)
        tip = int(rpc(self.w3, "eth_maxPriorityFeePerGas"), 16)
        tx = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": to_checksum_address(call.to),
            "value": call.value,
            "data": call.data,
            "gas": gas,
            "maxPriorityFeePerGas": tip,
            "maxFeePerGas": 2 * base_fee + tip,
        }
        signed = self._account.sign_transaction(tx)
        return SignedTx(bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex(), nonce)

    def send(self, signed: SignedTx) -> dict[str, Any]:
        try:
            receipt = rpc(self.w3, "eth_sendRawTransactionSync", "0x" + signed.raw.hex())
        except DefiAgentError as error:
            if (
                "method not found" not in error.message.lower()
                and "not supported" not in error.message.lower()
            ):
                raise
            self.w3.eth.send_raw_transaction(signed.raw)
            return dict(
                self.w3.eth.wait_for_transaction_receipt(
                    HexBytes(signed.tx_hash), poll_latency=0.05
                )
            )
        return _ints(receipt)

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        found = rpc(self.w3, "eth_getTransactionReceipt", tx_hash)
        return _ints(found) if found else None


def _ints(receipt: dict[str, Any]) -> dict[str, Any]:
    out = dict(receipt)
    for key in ("status", "gasUsed", "effectiveGasPrice", "blockNumber"):
        if isinstance(out.get(key), str):
            out[key] = int(out[key], 16)
    return out
