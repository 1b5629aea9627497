"""The signer: the only code in the agent that signs or sends a transaction.

Every send waits for its receipt, so the node's pending nonce is always the next one: nothing is
cached that a `chain reset` could make stale. It holds the wallet key and signs a call only when it carries a grant from the policy engine: an
EIP-712 authorisation of exactly this call (target, value, calldata, chain) signed by the key of a
session that is active at the chain's current time. The key never appears in a repr, a log or an
error message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import rlp
from coincurve import PrivateKey

from agent.errors import ChainUnavailable, DefiAgentError, PolicyDenied
from agent.seams import SignedTx
from policies.sessions import SessionStore, recover
from tools.chain.address import address_of, keccak
from tools.chain.plain import Node, next_block_time, rpc
from tools.tx import Call

RECEIPT_TIMEOUT = 120.0
"""How long a node without eth_sendRawTransactionSync is given to mine a sent transaction."""


@dataclass(frozen=True)
class Eip1559:
    """The fields of an EIP-1559 (type 2) transaction without an access list."""

    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas: int
    to: str
    value: int
    data: bytes

    def payload(self) -> list[object]:
        return [
            self.chain_id,
            self.nonce,
            self.max_priority_fee_per_gas,
            self.max_fee_per_gas,
            self.gas,
            bytes.fromhex(self.to.removeprefix("0x")),
            self.value,
            self.data,
            [],
        ]


def sign_eip1559(key: PrivateKey, tx: Eip1559) -> bytes:
    """The signed raw transaction: 0x02 || rlp([...fields, y_parity, r, s]) over the keccak of
    0x02 || rlp(fields), signed with libsecp256k1 (RFC 6979 nonces, low s), byte for byte what
    eth_account produces (a property test checks it) at a fraction of the cost."""
    unsigned = b"\x02" + rlp.encode(tx.payload())
    signature = key.sign_recoverable(keccak(unsigned), hasher=None)
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")
    return b"\x02" + rlp.encode([*tx.payload(), signature[64], r, s])


class Signer:
    def __init__(self, w3: Node, key: str, sessions: SessionStore, chain_id: int) -> None:
        self._key = PrivateKey(bytes.fromhex(key.removeprefix("0x")))
        self.address = address_of(self._key.public_key)
        self.w3 = w3
        self.sessions = sessions
        self.chain_id = chain_id

    def __repr__(self) -> str:
        return f"Signer(wallet={self.address})"

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
        mined_at = next_block_time(self.w3, int(header["timestamp"], 16))
        self._verify(call, grant, mined_at)  # the session must be active when it is mined
        nonce = int(rpc(self.w3, "eth_getTransactionCount", self.address, "pending"), 16)
        base_fee = int(header.get("baseFeePerGas") or "0x0", 16)
        tip = int(rpc(self.w3, "eth_maxPriorityFeePerGas"), 16)
        fields = Eip1559(
            self.chain_id, nonce, tip, 2 * base_fee + tip, gas, call.to, call.value, call.data
        )
        raw = sign_eip1559(self._key, fields)
        return SignedTx(raw, "0x" + keccak(raw).hex(), nonce)

    def send(self, signed: SignedTx) -> dict[str, Any]:
        try:
            receipt = rpc(self.w3, "eth_sendRawTransactionSync", "0x" + signed.raw.hex())
        except DefiAgentError as error:
            if (
                "method not found" in error.message.lower()
                or "not supported" in error.message.lower()
            ):
                rpc(self.w3, "eth_sendRawTransaction", "0x" + signed.raw.hex())
                return self._mined(signed.tx_hash)
            if rpc(self.w3, "eth_getTransactionByHash", signed.tx_hash) is None:
                raise  # refused: it was never sent
            # Accepted, then not mined in the node's time ("confirmation timeout"): its outcome
            # is unknown, so its spend stays reserved until `resume` finds its receipt.
            raise ChainUnavailable(
                f"transaction {signed.tx_hash} was sent, but the node gave up waiting for it to "
                f"be mined ({error.message})",
                hint="`defi-agent resume PLAN_ID` checks it again once the chain mines it",
            ) from None
        return _ints(receipt)

    def _mined(self, tx_hash: str) -> dict[str, Any]:
        deadline = time.monotonic() + RECEIPT_TIMEOUT
        while (found := self.receipt(tx_hash)) is None:
            if time.monotonic() > deadline:
                raise ChainUnavailable(
                    f"transaction {tx_hash} was sent but not mined within {RECEIPT_TIMEOUT:.0f} s",
                    hint="`defi-agent journal` lists the plan; `defi-agent resume PLAN_ID` checks it again",
                )
            time.sleep(0.05)
        return found

    def waiting(self, tx_hash: str) -> bool:
        """Whether the node holds ``tx_hash`` unmined: sent, and its outcome still to come."""
        return rpc(self.w3, "eth_getTransactionByHash", tx_hash) is not None

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        found = rpc(self.w3, "eth_getTransactionReceipt", tx_hash)
        return _ints(found) if found else None


def _ints(receipt: dict[str, Any]) -> dict[str, Any]:
    out = dict(receipt)
    for key in ("status", "gasUsed", "effectiveGasPrice", "blockNumber"):
        if isinstance(out.get(key), str):
            out[key] = int(out[key], 16)
    return out
