"""Token words people use, and the symbols of the address book they mean."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_SYMBOLS = ("ETH", "WETH", "USDC", "DAI", "WBTC")


def unknown_token(word: str) -> str:
    """What a file (a policy, a strategy, a guard) naming ``word`` as a token is told."""
    return f"unknown token {word!r} (known: {', '.join(DEFAULT_SYMBOLS)})"


ALIASES = {
    "eth": "ETH",
    "ether": "ETH",
    "ethereum": "ETH",
    "ethers": "ETH",
    "weth": "WETH",
    "wrapped ether": "WETH",
    "wrapped eth": "WETH",
    "usdc": "USDC",
    "usd coin": "USDC",
    "usdcoin": "USDC",
    "dai": "DAI",
    "wbtc": "WBTC",
    "btc": "WBTC",
    "bitcoin": "WBTC",
    "bitcoins": "WBTC",
    "wrapped bitcoin": "WBTC",
    "wrapped btc": "WBTC",
}
AMBIGUOUS = {
    "usd": "USDC or DAI",
    "dollars": "USDC or DAI",
    "dollar": "USDC or DAI",
    "stablecoin": "USDC or DAI",
    "stablecoins": "USDC or DAI",
    "stables": "USDC or DAI",
}


def resolve_symbol(word: str, known: tuple[str, ...] = DEFAULT_SYMBOLS) -> str | None:
    """The symbol ``word`` names (any case, aliases included), if it is one of ``known``."""
    cleaned = " ".join(word.lower().split())
    symbol = ALIASES.get(cleaned, cleaned.upper())
    return symbol if symbol in known else None


def words_for(symbol: str) -> tuple[str, ...]:
    """Every word that names ``symbol``, lower case."""
    return (symbol.lower(), *(alias for alias, target in ALIASES.items() if target == symbol))


def produced_token(step: Mapping[str, Any]) -> str | None:
    """The token a step leaves in the wallet: what "it" in the next step, or "output:N", means."""
    action = step["action"]
    if action == "swap":
        return str(step["token_out"])
    if action in ("withdraw", "borrow"):
        return str(step["token"])
    return {"wrap": "WETH", "unwrap": "ETH"}.get(str(action))


def spent_token(step: Mapping[str, Any]) -> str:
    """The token a step takes from the wallet: what "output:N" in its amount must be."""
    action = step["action"]
    if action == "swap":
        return str(step["token_in"])
    return {"wrap": "ETH", "unwrap": "WETH"}.get(str(action)) or str(step["token"])


def same_asset(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are one asset: the same symbol, or ETH and WETH."""
    return a == b or {a, b} == {"ETH", "WETH"}
