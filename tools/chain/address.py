"""EIP-55 checksummed addresses and Keccak-256, with only pycryptodome's keccak imported
(eth_utils costs ~150 ms to import, too much for commands that must start fast)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coincurve import PublicKey

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def is_address(value: str) -> bool:
    return bool(_HEX_ADDRESS.match(value))


@lru_cache(maxsize=4096)
def to_checksum_address(value: str) -> str:
    """The EIP-55 form of a 0x-prefixed 40-hex-digit address; ValueError for anything else.
    Cached: a plan names the same few contracts and tokens over and over."""
    if not is_address(value):
        raise ValueError(f"{value!r} is not a 0x-prefixed 20-byte hex address")
    lower = value[2:].lower()
    digest = keccak(lower.encode()).hex()
    return "0x" + "".join(
        c.upper() if int(d, 16) >= 8 else c for c, d in zip(lower, digest[:40], strict=True)
    )


def keccak(data: bytes) -> bytes:
    """Keccak-256 of ``data``, as Ethereum hashes (pycryptodome's, as eth_hash uses it)."""
    from Crypto.Hash import keccak as keccak_hash

    return keccak_hash.new(data=data, digest_bits=256).digest()


def address_of(public_key: PublicKey) -> str:
    """The checksummed address of a secp256k1 public key (coincurve's)."""
    uncompressed = public_key.format(compressed=False)  # 65 bytes, 0x04 first
    return to_checksum_address("0x" + keccak(uncompressed[1:])[-20:].hex())


def is_checksum_address(value: str) -> bool:
    return is_address(value) and to_checksum_address(value) == value
