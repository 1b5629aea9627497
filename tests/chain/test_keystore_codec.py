"""Keys at rest: `tools.chain.keystore` and eth_account read each other's keystores (pbkdf2 both
ways, scrypt as eth_account and geth write it), and a wrong password or an edited keystore never
yields a key."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.chain import keystore

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
secrets = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(lambda n: n.to_bytes(32, "big"))
passwords = st.text(min_size=1, max_size=40)


@settings(max_examples=15, deadline=None)
@given(secret=secrets, password=passwords)
def test_both_codecs_read_each_others_keystores(secret: bytes, password: str) -> None:
    address = Account.from_key(secret).address
    ours = keystore.encrypt(secret, password, 16, address)
    assert bytes(Account.decrypt(ours, password)) == secret
    theirs = Account.encrypt(secret, password, kdf="pbkdf2", iterations=16)
    assert keystore.decrypt(theirs, password) == secret
    assert ours["address"] == theirs["address"]
    scrypt = Account.encrypt(secret, password, kdf="scrypt", iterations=16)
    assert keystore.decrypt(scrypt, password) == secret


def test_a_wrong_password_or_an_edited_keystore_is_refused() -> None:
    secret = bytes(range(1, 33))
    stored = keystore.encrypt(secret, "right", 16, Account.from_key(secret).address)
    with pytest.raises(keystore.WrongPassword, match="wrong password"):
        keystore.decrypt(stored, "wrong")
    edited = {**stored, "crypto": {**stored["crypto"], "ciphertext": "00" * 32}}
    with pytest.raises(keystore.WrongPassword, match="MAC mismatch"):
        keystore.decrypt(edited, "right")
    scrypt = Account.encrypt(secret, "right", kdf="scrypt", iterations=16)
    with pytest.raises(keystore.WrongPassword):
        keystore.decrypt(scrypt, "wrong")
    for kdf, params in (("argon2", stored["crypto"]["kdfparams"]), ("scrypt", {"n": 16})):
        other = {**stored, "crypto": {**stored["crypto"], "kdf": kdf, "kdfparams": params}}
        with pytest.raises(keystore.KeystoreError, match="not a keystore this reads") as raised:
            keystore.decrypt(other, "right")
        assert not isinstance(raised.value, keystore.WrongPassword)
