"""A plan's one-sentence summary and its risk, written from its steps."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

_RISKY = {"borrow": "medium"}


def _amount(step: dict[str, Any], symbol: str) -> str:
    amount = step["amount"]
    if amount == "max":
        return f"all your {symbol}"
    if amount.startswith("output:"):
        return f"the {symbol}"
    if amount.endswith("%"):
        return f"{amount} of your {symbol}"
    return f"{grouped(amount)} {symbol}"


def grouped(amount: str) -> str:
    """A plan's amount with thousands separators, its digits as written (QA: "Borrow 4530 DAI")."""
    return f"{Decimal(amount):,f}"


def describe(step: dict[str, Any]) -> str:
    kind = step["action"]
    if kind == "swap":
        if step["amount_kind"] == "exact_out":
            bought = f"{grouped(step['amount'])} {step['token_out']}"
            return f"buy {bought} with {step['token_in']} on Uniswap V3"
        return f"swap {_amount(step, step['token_in'])} for {step['token_out']} on Uniswap V3"
    if kind == "supply":
        return f"supply {_amount(step, step['token'])} to Aave V3"
    if kind == "withdraw":
        return f"withdraw {_amount(step, step['token'])} from Aave V3".replace(
            "all your", "all your supplied"
        )
    if kind == "borrow":
        return f"borrow {_amount(step, step['token'])} from Aave V3 at the variable rate"
    if kind == "repay":
        amount, symbol = step["amount"], step["token"]
        if amount.startswith("output:"):
            return f"repay {symbol} debt with the {symbol} on Aave V3"
        if amount == "max" or amount.endswith("%"):  # "all your DAI", "50% of your DAI"
            return f"repay {_amount(step, symbol)} debt on Aave V3"
        return f"repay {grouped(amount)} {symbol} of debt on Aave V3"
    if kind == "transfer":
        return f"send {_amount(step, step['token'])} to {step['to']}"
    if kind == "wrap":
        return f"wrap {_amount(step, 'ETH')} into WETH"
    return f"unwrap {_amount(step, 'WETH')} into ETH"


def summarise(steps: list[dict[str, Any]]) -> str:
    text = ", then ".join(describe(s) for s in steps)
    return text[0].upper() + text[1:]


def risk_of(steps: list[dict[str, Any]]) -> str:
    levels = [_RISKY.get(s["action"], "low") for s in steps]
    return "medium" if "medium" in levels else "low"
