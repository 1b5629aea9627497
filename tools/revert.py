"""Revert data in plain words: Error(string), Panic(uint256), Aave's numeric error codes and the
short codes of Uniswap's and OpenZeppelin's contracts."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from eth_abi import decode

_ERROR_STRING = bytes.fromhex("08c379a0")
_PANIC = bytes.fromhex("4e487b71")
_PANICS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
}
_KNOWN = {
    "STF": "the router could not take the input tokens: the wallet's balance or allowance is too low",
    "TF": "a token transfer failed",
    "Too little received": "the swap would return less than the slippage bound allows",
    "Too much requested": "the swap would cost more than the slippage bound allows",
    "Transaction too old": "the swap's deadline has passed",
    "SPL": "the price limit was reached",
    "LOK": "the pool is locked",
    "ERC20: transfer amount exceeds balance": "the wallet's token balance is too low",
    "ERC20: transfer amount exceeds allowance": "the token allowance is too low",
    "ERC20: insufficient allowance": "the token allowance is too low",
}


_AAVE_NAME = re.compile(r"^Aave: .* \(error \d+, (?P<name>[A-Z0-9_]+)\)$")
"""How `_words` names an Aave error, which `aave_error` reads back."""


@cache
def _aave_codes() -> dict[str, dict[str, str]]:
    path = Path(__file__).with_name("aave_v3") / "errors.json"
    return dict(json.loads(path.read_text()))


def explain(data: bytes | str | None, message: str | None = None) -> str:
    """One sentence for a revert: what went wrong, in the words of the protocol that refused."""
    raw = bytes.fromhex(data[2:]) if isinstance(data, str) else (data or b"")
    if raw[:4] == _ERROR_STRING:
        (text,) = decode(["string"], raw[4:])
        return _words(text)
    if raw[:4] == _PANIC:
        (code,) = decode(["uint256"], raw[4:])
        return f"the contract panicked: {_PANICS.get(code, hex(code))}"
    if raw:
        return f"reverted with custom error 0x{raw[:4].hex()}"
    if message and "insufficient funds" in message.lower():
        return "the wallet does not hold enough ETH for this transaction"
    return "reverted without a reason (for WETH: the wallet holds too little of it)"


def aave_error(reason: str | None) -> str | None:
    """The name of the Aave error that ``reason``, as `explain` wrote it, is about
    ("COLLATERAL_BALANCE_IS_ZERO"); None for any other reason."""
    match = _AAVE_NAME.match(reason or "")
    return match.group("name") if match else None


def _words(text: str) -> str:
    aave = _aave_codes().get(text)
    if aave is not None:
        return f"Aave: {aave['meaning'].rstrip('.')} (error {text}, {aave['name']})"
    return _KNOWN.get(text, text)
