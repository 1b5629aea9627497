"""Plan amounts as the plan writes them, and the one parser that reads them.

Kept apart from the pydantic models (`strategies.plan`), and free of dataclasses, so that the rule
parser, which builds plans from these pieces, starts without importing either.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import NamedTuple

MAX_SLIPPAGE_BPS = 5000
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$", re.ASCII)
_OUTPUT = re.compile(r"^output:([1-9]\d*)$", re.ASCII)
_DECIMAL = re.compile(r"^\d+(?:\.\d+)?$", re.ASCII)
_ABSURD = Decimal(10) ** 15


def suggested(amount: Decimal) -> Decimal:
    """An amount suggested to the user ("at most 1.666 ETH fits"): rounded down to four
    significant digits, so that it is still within what was worked out."""
    step = Decimal(1).scaleb(amount.adjusted() - 3)
    return amount.quantize(step, ROUND_DOWN).normalize()


class Amount(NamedTuple):
    """A parsed amount: exactly one of ``value`` (token units), ``percent``, ``max`` or ``output``."""

    value: Decimal | None = None
    percent: Decimal | None = None
    max: bool = False
    output: int | None = None


def parse_amount(text: str) -> Amount:
    """The one parser of plan amounts; ValueError with the reason for anything else."""
    if text == "max":
        return Amount(max=True)
    if match := _OUTPUT.match(text):
        return Amount(output=int(match.group(1)))
    if match := _PERCENT.match(text):
        percent = Decimal(match.group(1))
        if not 0 < percent <= 100:
            raise ValueError(f"a percentage must be above 0% and at most 100%, not {text}")
        return Amount(percent=percent)
    if not _DECIMAL.match(text):
        raise ValueError(
            f"{text!r} is not an amount: use a decimal like 1250.5, NN%, max or output:N"
        )
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal amount") from None
    if value <= 0:
        raise ValueError("the amount must be more than zero")
    if value >= _ABSURD:
        raise ValueError(f"{text} is not a plausible amount")
    return Amount(value=value)
