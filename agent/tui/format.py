"""Number formatting shared by the widgets."""

from __future__ import annotations

from decimal import Decimal


def amount(value: Decimal) -> str:
    """Token amounts: thousands separators, at most 6 decimals, no trailing zeros."""
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + amount(value)


def usd(value: Decimal) -> str:
    return f"${value:,.2f}"
