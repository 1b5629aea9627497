"""Concrete actions: a plan step with every token, address and amount resolved (base units, int).

``ALL`` as an amount means Aave's own "max": the whole position for a withdraw, the whole debt for a
repay, computed by the protocol at execution time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tools.erc20.reads import Token

ALL = 2**256 - 1


@dataclass(frozen=True)
class Swap:
    token_in: Token
    token_out: Token
    kind: Literal["exact_in", "exact_out"]
    amount: int
    max_slippage_bps: int


@dataclass(frozen=True)
class Supply:
    token: Token
    amount: int


@dataclass(frozen=True)
class Withdraw:
    token: Token
    amount: int


@dataclass(frozen=True)
class Borrow:
    token: Token
    amount: int


@dataclass(frozen=True)
class Repay:
    token: Token
    amount: int


@dataclass(frozen=True)
class Transfer:
    token: Token
    amount: int
    to: str


@dataclass(frozen=True)
class Wrap:
    amount: int


@dataclass(frozen=True)
class Unwrap:
    amount: int


Action = Swap | Supply | Withdraw | Borrow | Repay | Transfer | Wrap | Unwrap
