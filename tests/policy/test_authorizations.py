"""Session authorisations are standard EIP-712: the agent's own digest and signatures agree with
eth_account's reference implementation, so any EIP-712 tool can verify the journal."""

from __future__ import annotations

import sqlite3

from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.sessions import SessionStore, authorization_message, recover

POLICY = 'name = "p"\nttl = "1h"\n[allow]\nactions = ["swap"]\n[limits]\nmax_usd_per_tx = 100\n'


def _reference(message: dict) -> object:
    body = {**message["message"], "data": bytes.fromhex(message["message"]["data"][2:])}
    return encode_typed_data(full_message={**message, "message": body})


@settings(max_examples=40, deadline=None)
@given(
    chain_id=st.integers(1, 2**53),
    value=st.integers(0, 2**256 - 1),
    data=st.binary(max_size=300),
    usd_cents=st.integers(0, 2**128),
    reservation=st.integers(0, 2**63),
    to=st.binary(min_size=20, max_size=20),
)
def test_signatures_verify_with_eth_account(chain_id, value, data, usd_cents, reservation, to):
    from eth_utils import to_checksum_address

    store = SessionStore(_memory(), b"secret")
    session = store.create(POLICY, "p.toml", None, None, chain_id, 0)
    message = authorization_message(
        session.id, chain_id, to_checksum_address(to), value, data, usd_cents, reservation
    )

    signature = store.sign(session, message)

    signable = _reference(message)
    assert (
        Account.recover_message(signable, signature=bytes.fromhex(signature[2:])) == session.address
    )
    assert recover(message, signature) == session.address


def test_a_changed_field_recovers_another_address() -> None:
    store = SessionStore(_memory(), b"secret")
    session = store.create(POLICY, "p.toml", None, None, 31337, 0)
    message = authorization_message(session.id, 31337, session.address, 0, b"\x01", 100, 1)
    signature = store.sign(session, message)
    tampered = {**message, "message": {**message["message"], "usdCents": 99}}

    assert recover(message, signature) == session.address
    assert recover(tampered, signature) != session.address
    assert recover(message, "0x" + "00" * 65) == ""


def _memory() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn
