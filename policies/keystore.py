"""Session keys at rest: Web3 Secret Storage (keystore v3) with pbkdf2-sha256 and aes-128-ctr, the
format eth_account writes (a test checks both read each other's), from hashlib and pycryptodome.

eth_account's own codec imports eth-keyfile, which imports py_ecc's BLS pairing tables: ~0.4 s
that every command signing under a session paid to unlock its key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from typing import Any

from Crypto.Cipher import AES
from Crypto.Util import Counter

from tools.chain.address import keccak

_DKLEN = 32


class KeystoreError(ValueError):
    """Not a keystore this module reads (another kdf or cipher), or the password is wrong."""


def encrypt(secret: bytes, password: str, iterations: int, address: str) -> dict[str, Any]:
    """``secret`` encrypted under ``password``; ``address`` (checksummed) is recorded as
    eth_account records it."""
    salt, iv = os.urandom(16), os.urandom(16)
    derived = _derive(password, salt, iterations)
    ciphertext = _aes_ctr(derived[:16], iv, secret)
    return {
        "address": address.removeprefix("0x"),
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": iv.hex()},
            "ciphertext": ciphertext.hex(),
            "kdf": "pbkdf2",
            "kdfparams": {
                "c": iterations,
                "dklen": _DKLEN,
                "prf": "hmac-sha256",
                "salt": salt.hex(),
            },
            "mac": _mac(derived, ciphertext).hex(),
        },
        "id": str(uuid.uuid4()),
        "version": 3,
    }


def decrypt(keystore: dict[str, Any], password: str) -> bytes:
    """The secret; `KeystoreError` when the keystore is not pbkdf2/aes-128-ctr or the MAC does
    not match (a wrong password)."""
    crypto = keystore.get("crypto") or keystore.get("Crypto") or {}
    params = crypto.get("kdfparams", {})
    if (
        keystore.get("version") != 3
        or crypto.get("kdf") != "pbkdf2"
        or crypto.get("cipher") != "aes-128-ctr"
        or params.get("prf") != "hmac-sha256"
        or params.get("dklen") != _DKLEN
    ):
        raise KeystoreError("not a pbkdf2 / aes-128-ctr keystore")
    derived = _derive(password, bytes.fromhex(params["salt"]), int(params["c"]))
    ciphertext = bytes.fromhex(crypto["ciphertext"])
    if not hmac.compare_digest(_mac(derived, ciphertext), bytes.fromhex(crypto["mac"])):
        raise KeystoreError("MAC mismatch: wrong password")
    return _aes_ctr(derived[:16], bytes.fromhex(crypto["cipherparams"]["iv"]), ciphertext)


def _derive(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, _DKLEN)


def _mac(derived: bytes, ciphertext: bytes) -> bytes:
    return keccak(derived[16:32] + ciphertext)


def _aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    counter = Counter.new(128, initial_value=int.from_bytes(iv, "big"))
    return AES.new(key, AES.MODE_CTR, counter=counter).encrypt(data)
