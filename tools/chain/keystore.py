"""Keys at rest: Web3 Secret Storage (keystore v3) with aes-128-ctr, from hashlib and pycryptodome.
Session keys are written with pbkdf2-sha256; a wallet's keystore file (`DEFI_AGENT_KEYSTORE`) may
also use scrypt, eth_account's default and geth's. A test checks that this module and eth_account
read each other's keystores.

eth_account's own codec imports eth-keyfile, which imports py_ecc's BLS pairing tables: ~0.4 s
that every command signing under a session, or with a keystore file, paid to unlock a key.
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


_MOST_ROUNDS = 10_000_000
"""Ten times eth_account's pbkdf2 default: seconds to derive, where more would seem to hang."""


class KeystoreError(ValueError):
    """Not a keystore this module reads (another kdf or cipher), or the password is wrong."""


class WrongPassword(KeystoreError):
    """The MAC does not match: a wrong password, or an edited keystore."""


def encrypt(secret: bytes, password: str, iterations: int, address: str) -> dict[str, Any]:
    """``secret`` encrypted under ``password``; ``address`` (checksummed) is recorded as
    eth_account records it."""
    salt, iv = os.urandom(16), os.urandom(16)
    params = {"c": iterations, "dklen": _DKLEN, "prf": "hmac-sha256", "salt": salt.hex()}
    derived = _derived("pbkdf2", params, password.encode(), salt)
    ciphertext = _aes_ctr(derived[:16], iv, secret)
    return {
        "address": address.removeprefix("0x"),
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": iv.hex()},
            "ciphertext": ciphertext.hex(),
            "kdf": "pbkdf2",
            "kdfparams": params,
            "mac": _mac(derived, ciphertext).hex(),
        },
        "id": str(uuid.uuid4()),
        "version": 3,
    }


def decrypt(keystore: dict[str, Any], password: str) -> bytes:
    """The secret; `WrongPassword` when the MAC does not match, `KeystoreError` when the keystore
    is not a version 3 one with pbkdf2 or scrypt and aes-128-ctr."""
    if not isinstance(keystore, dict):
        raise KeystoreError("not a keystore: the file holds no JSON object")
    crypto = keystore.get("crypto") or keystore.get("Crypto") or {}
    if not isinstance(crypto, dict):
        raise KeystoreError("not a keystore: its crypto is no JSON object")
    if keystore.get("version") != 3 or crypto.get("cipher") != "aes-128-ctr":
        raise KeystoreError("not a keystore v3 with aes-128-ctr")
    try:
        params = crypto["kdfparams"]
        salt, ciphertext = bytes.fromhex(params["salt"]), bytes.fromhex(crypto["ciphertext"])
        mac, iv = bytes.fromhex(crypto["mac"]), bytes.fromhex(crypto["cipherparams"]["iv"])
        derived = _derived(crypto.get("kdf"), params, password.encode(), salt)
    except (KeyError, TypeError, ValueError) as error:
        raise KeystoreError(f"not a keystore this reads: {error}") from None
    if not hmac.compare_digest(_mac(derived, ciphertext), mac):
        raise WrongPassword("MAC mismatch: wrong password")
    return _aes_ctr(derived[:16], iv, ciphertext)


def _derived(kdf: object, params: dict[str, Any], password: bytes, salt: bytes) -> bytes:
    if params["dklen"] != _DKLEN:
        raise ValueError(f"a {params['dklen']}-byte key")
    if kdf == "pbkdf2" and params["prf"] == "hmac-sha256":
        rounds = int(params["c"])
        if not 1 <= rounds <= _MOST_ROUNDS:  # QA: 10**10 was an internal error, 10**9 a hang
            raise ValueError(f"{rounds} pbkdf2 iterations (this reads 1 to {_MOST_ROUNDS:,})")
        return hashlib.pbkdf2_hmac("sha256", password, salt, rounds, _DKLEN)
    if kdf == "scrypt":
        n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
        memory = 128 * r * (n + p + 2)
        return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=memory, dklen=_DKLEN)
    raise ValueError(f"kdf {kdf!r}")


def _mac(derived: bytes, ciphertext: bytes) -> bytes:
    return keccak(derived[16:32] + ciphertext)


def _aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    counter = Counter.new(128, initial_value=int.from_bytes(iv, "big"))
    return AES.new(key, AES.MODE_CTR, counter=counter).encrypt(data)
