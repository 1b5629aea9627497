"""EIP-55 checksums: our light implementation agrees with eth_utils on random and known addresses."""

from __future__ import annotations

import os

import pytest
from eth_utils import to_checksum_address as reference

from tools.chain.address import is_checksum_address, to_checksum_address


def test_agrees_with_eth_utils() -> None:
    for _ in range(500):
        raw = "0x" + os.urandom(20).hex()
        assert to_checksum_address(raw) == reference(raw)


def test_known_devnet_wallet() -> None:
    assert is_checksum_address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
    assert not is_checksum_address("0xf39fd6e51aad88f6f4ce6ab8827279cffFb92266")


@pytest.mark.parametrize(
    "bad", ["0x123", "f39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x" + "g" * 40, ""]
)
def test_rejects_malformed(bad: str) -> None:
    assert not is_checksum_address(bad)
    with pytest.raises(ValueError, match="not a 0x-prefixed 20-byte hex address"):
        to_checksum_address(bad)
