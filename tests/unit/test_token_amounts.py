"""How a slippage bound is written for people: short, and still true of what is signed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tools.erc20.reads import Token

DAI = Token("DAI", "0x" + "11" * 20, 18)


@pytest.mark.parametrize(
    ("raw", "up", "shown"),
    [
        (297_598_565_884_596_261_149, False, "297.598565"),  # QA: all 18 decimals were shown
        (297_598_565_884_596_261_149, True, "297.598566"),  # "at most": rounded up
        (29_000 * 10**18, False, "29,000"),
        (1, False, "0"),  # below a millionth, "at least 0" is still true
        (1, True, "0.000001"),
    ],
)
def test_a_bound_is_rounded_the_way_that_keeps_it_true(raw: int, up: bool, shown: str) -> None:
    assert DAI.brief(raw, up=up) == shown
    written = Decimal(shown.replace(",", ""))
    exact = DAI.to_units(raw)
    assert written >= exact if up else written <= exact
