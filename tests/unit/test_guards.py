"""The guard language of strategy files: what it accepts, what it means, and that it never runs
Python."""

from __future__ import annotations

from decimal import Decimal

import pytest

from strategies.script.expr import ExprError, parse_guard


class Table:
    """Readings from a table, as a test stand-in for the chain."""

    def __init__(self, values: dict[str, Decimal]) -> None:
        self.values = values
        self.asked: list[str] = []

    def read(self, name: str, args: tuple[str, ...]) -> Decimal:
        key = f"{name}({','.join(args)})" if args else name
        self.asked.append(key)
        return self.values[key]


READINGS = Table(
    {
        "health_factor": Decimal("1.55"),
        "price(ETH)": Decimal(2400),
        "balance(USDC)": Decimal(150),
        "apy(aave-v3,USDC)": Decimal("0.035"),
        "debt(DAI)": Decimal(0),
        "block": Decimal(120),
    }
)


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("health_factor < 1.6", True),
        ("health_factor >= 2", False),
        ("price(ETH) < 2500", True),
        ("balance(USDC) > 100", True),
        ("apy(aave-v3, USDC) > 3%", True),
        ("apy(aave-v3, USDC) > 3.5%", False),
        ("apy(aave-v3, USDC) >= 3.5%", True),
        ("price(ETH) < 2,500 and balance(USDC) > 1_000", False),
        ("balance(USDC) < 1,234.5", True),
        ("price(ETH) > 3000 or health_factor<1.6", True),
        ("not (debt(DAI) > 0)", True),
        ("NOT debt(DAI) == 0", False),
        ("(block != 120) or (price(ETH) <= 2400 and health_factor > 1.5)", True),
    ],
)
def test_guards_mean_what_they_say(text: str, holds: bool) -> None:
    assert parse_guard(text).holds(READINGS) is holds


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("health_factor <", "expected a number or a reading, found 'the end'", 16),
        ("health factor < 2", "unknown reading 'health'", 1),
        ("health_factor 2", "expected a comparison", 15),
        ("pricee(ETH) < 2", "unknown reading 'pricee'", 1),
        ("price ETH < 2", "expected '('", 7),
        ("apy(USDC) > 3%", "expected ','", 9),
        ("apy(compound, USDC) > 1%", "apy reads Aave V3's markets: write apy(aave-v3, TOKEN)", 5),
        ("__import__('os').system('true') > 0", "unexpected '_'", 1),
        ("health_factor < 1.6 and", "expected a number or a reading", 24),
        ("health_factor < 1.6 1", "unexpected '1' after a complete condition", 21),
        ("(health_factor < 1.6", "expected ')'", 21),
        ("balance(USDC) > 1e3", "unexpected 'e3' after a complete condition", 18),
        # a decimal comma would read as 15, and the deleverage guard would always fire
        ("health_factor < 1,5", "'1,5' is not a number: a decimal is written with a point", 17),
        ("balance(USDC) > 1,00", "'1,00' is not a number", 17),
        ("balance(USDC) > ١٠٠", "unexpected '١'", 17),
        pytest.param(
            "(" * 500 + "block > 1" + ")" * 500, "nested more than 32 deep", 33, id="deep"
        ),
        pytest.param("not " * 40 + "block > 1", "nested more than 32 deep", 129, id="not-deep"),
    ],
)
def test_bad_guards_name_the_column(text: str, message: str, column: int) -> None:
    with pytest.raises(ExprError) as error:
        parse_guard(text)
    assert message in str(error.value)
    assert error.value.column == column


def test_only_the_readings_a_guard_names_are_read() -> None:
    table = Table({"health_factor": Decimal(3), "price(ETH)": Decimal(1)})
    assert parse_guard("health_factor > 2 or price(ETH) > 100").holds(table)
    assert table.asked == ["health_factor"]
