"""Wrap and unwrap ETH through the address book's WETH9."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from tools.actions import Action, Unwrap, Wrap
from tools.chain.contracts import contract
from tools.protocol import Built, ChainContext
from tools.tx import Call


def _eth(raw: int) -> str:
    return format(Decimal(raw).scaleb(-18).normalize(), "f")


def wrap_call(ctx: ChainContext, amount: int) -> Call:
    weth = ctx.book.token("WETH")
    data = contract(ctx.w3, "weth9", weth).encode_abi("deposit", args=[])
    return Call(weth, bytes.fromhex(data[2:]), amount, f"wrap {_eth(amount)} ETH into WETH")


def unwrap_call(ctx: ChainContext, amount: int) -> Call:
    weth = ctx.book.token("WETH")
    data = contract(ctx.w3, "weth9", weth).encode_abi("withdraw", args=[amount])
    return Call(weth, bytes.fromhex(data[2:]), 0, f"unwrap {_eth(amount)} WETH into ETH")


class WethAdapter:
    name: ClassVar[str] = "weth"

    def handles(self, action: Action) -> bool:
        return isinstance(action, Wrap | Unwrap)

    def build(self, ctx: ChainContext, action: Action) -> Built:
        if isinstance(action, Wrap):
            return Built((wrap_call(ctx, action.amount),))
        assert isinstance(action, Unwrap)
        return Built((unwrap_call(ctx, action.amount),))
