"""The typed strategy plan of DESIGN.md: what `defi-agent plan --json` prints and every parser,
human or LLM, must produce.

Steps are a discriminated union on ``action``. Amounts stay strings in the plan, exactly as the user
can read them, and one validator parses each into an `Amount`: a positive Decimal in token units,
a percentage, "max", or "output:N". Field descriptions are written for an LLM that fills them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    model_validator,
)

from strategies.amounts import MAX_SLIPPAGE_BPS, parse_amount


def _valid_amount(text: str) -> str:
    parse_amount(text)
    return text


_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _address(text: str) -> str:
    if not _ADDRESS.match(text):
        raise ValueError(f"{text!r} is not an address (0x and 40 hex digits)")
    return text


AmountText = Annotated[
    str,
    AfterValidator(_valid_amount),
    Field(
        description=(
            'A string: a positive decimal in token units such as "1250.5" (never base units), '
            'a percentage of the relevant balance such as "50%", "max" for all of it, or "output:N" '
            "for what step N (1-based) produced."
        )
    ),
]


def _upper(value: object) -> object:
    """A symbol in any case is the address book's, upper case: "usdc" is USDC."""
    return value.upper() if isinstance(value, str) else value


Token = Annotated[
    str,
    BeforeValidator(_upper),
    Field(
        description="Token symbol from the address book, upper case: ETH, WETH, USDC, DAI or WBTC.",
        pattern=r"^[A-Z0-9]{2,10}$",
    ),
]


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SwapStep(_Step):
    action: Literal["swap"] = Field(description="Exchange one token for another on Uniswap V3.")
    protocol: Literal["uniswap-v3"] = "uniswap-v3"
    token_in: Token = Field(description="The token given.")
    token_out: Token = Field(description="The token received.")
    amount: AmountText
    amount_kind: Literal["exact_in", "exact_out"] = Field(
        default="exact_in",
        description='"exact_in": amount is of token_in (sell/swap X). "exact_out": amount is of token_out (buy X).',
    )
    max_slippage_bps: StrictInt = Field(
        ge=0,
        le=MAX_SLIPPAGE_BPS,
        description="Maximum slippage in basis points (1% = 100). Only what the user said, else the policy default.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SwapStep:
        if self.token_in == self.token_out:
            raise ValueError(f"cannot swap {self.token_in} into itself")
        if self.amount_kind == "exact_out" and parse_amount(self.amount).value is None:
            raise ValueError(
                f"an exact_out swap buys a stated amount of {self.token_out}: {self.amount} is "
                f"not one (output:N, max and NN% are amounts of what is spent: use exact_in)"
            )
        return self


class SupplyStep(_Step):
    action: Literal["supply"] = Field(description="Deposit a token into Aave V3 to earn interest.")
    protocol: Literal["aave-v3"] = "aave-v3"
    token: Token
    amount: AmountText


class WithdrawStep(_Step):
    action: Literal["withdraw"] = Field(description="Take supplied tokens back out of Aave V3.")
    protocol: Literal["aave-v3"] = "aave-v3"
    token: Token
    amount: AmountText


class BorrowStep(_Step):
    action: Literal["borrow"] = Field(
        description="Borrow a token from Aave V3 at the variable rate."
    )
    protocol: Literal["aave-v3"] = "aave-v3"
    token: Token
    amount: AmountText


class RepayStep(_Step):
    action: Literal["repay"] = Field(description="Pay back Aave V3 debt.")
    protocol: Literal["aave-v3"] = "aave-v3"
    token: Token
    amount: AmountText


class TransferStep(_Step):
    action: Literal["transfer"] = Field(description="Send tokens to an address.")
    token: Token
    amount: AmountText
    to: Annotated[str, AfterValidator(_address)] = Field(
        description="Recipient: a checksummed 0x address the user wrote out in full.",
        json_schema_extra={"pattern": _ADDRESS.pattern},
    )


class WrapStep(_Step):
    action: Literal["wrap"] = Field(description="Turn ETH into WETH.")
    amount: AmountText


class UnwrapStep(_Step):
    action: Literal["unwrap"] = Field(description="Turn WETH back into ETH.")
    amount: AmountText


Step = Annotated[
    SwapStep
    | SupplyStep
    | WithdrawStep
    | BorrowStep
    | RepayStep
    | TransferStep
    | WrapStep
    | UnwrapStep,
    Field(discriminator="action"),
]


class StrategyPlan(BaseModel):
    """A plan the user reads before anything happens."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    intent: str = Field(description="The user's request, verbatim.")
    summary: str = Field(description="One sentence saying what the plan does, in plain words.")
    risk: Literal["low", "medium", "high"] = Field(
        description="Risk of the plan for the user's funds."
    )
    steps: list[Step] = Field(min_length=1, max_length=6, description="The steps, in order.")

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def plan_schema() -> dict[str, object]:
    return StrategyPlan.model_json_schema()
