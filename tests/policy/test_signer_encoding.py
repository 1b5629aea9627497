"""The signer's EIP-1559 transactions are byte for byte what eth_account signs, and anvil accepts
them: the fast encoding changes nothing a node or an auditor sees."""

from __future__ import annotations

from coincurve import PrivateKey
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.signer import Eip1559, sign_eip1559
from tools.chain.plain import rpc
from tools.chain.running import DEVNET_KEY

UINT = st.integers(0, 2**256 - 1)


@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=32).filter(lambda b: 0 < int.from_bytes(b, "big") < 2**255),
    chain_id=st.integers(1, 2**53),
    nonce=st.integers(0, 2**64 - 1),
    tip=UINT,
    fee=UINT,
    gas=st.integers(21_000, 2**63),
    to=st.binary(min_size=20, max_size=20),
    value=UINT,
    data=st.binary(max_size=400),
)
def test_same_bytes_as_eth_account(key, chain_id, nonce, tip, fee, gas, to, value, data) -> None:
    account = Account.from_key(key)
    reference = account.sign_transaction(
        {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "maxPriorityFeePerGas": tip,
            "maxFeePerGas": fee,
            "gas": gas,
            "to": to_checksum_address(to),
            "value": value,
            "data": data,
        }
    )
    target = to_checksum_address(to)
    raw = sign_eip1559(
        PrivateKey(key), Eip1559(chain_id, nonce, tip, fee, gas, target, value, data)
    )

    assert raw == bytes(reference.raw_transaction)
    assert keccak(raw) == bytes(reference.hash)


def test_anvil_accepts_and_attributes_it(devnet) -> None:
    w3, wallet = devnet.w3, devnet.wallet
    nonce = int(rpc(w3, "eth_getTransactionCount", wallet, "pending"), 16)
    tx = Eip1559(31337, nonce, 10**9, 10**11, 21_000, "0x" + "11" * 20, 12345, b"")

    receipt = rpc(
        w3,
        "eth_sendRawTransactionSync",
        "0x" + sign_eip1559(PrivateKey(bytes.fromhex(DEVNET_KEY[2:])), tx).hex(),
    )

    assert int(receipt["status"], 16) == 1
    assert receipt["from"].lower() == wallet.lower()
    assert w3.eth.get_balance("0x" + "11" * 20) == 12345
