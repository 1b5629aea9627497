"""ERC-20 calls: exact approvals (never unlimited, skipped when the allowance already suffices) and
transfers, native ETH included."""

from __future__ import annotations

from typing import ClassVar

from tools.actions import Action, Transfer
from tools.chain.contracts import contract
from tools.erc20.reads import Token, allowance
from tools.protocol import Built, ChainContext
from tools.tx import Call


def approve(
    ctx: ChainContext, tok: Token, spender: str, amount: int, spender_name: str
) -> tuple[Call, ...]:
    """An approval of exactly ``amount``, or nothing when the allowance already covers it."""
    assert tok.address is not None
    if allowance(ctx.w3, tok, ctx.wallet, spender) >= amount:
        return ()
    return (reset_approval(ctx, tok, spender, spender_name, amount),)


def reset_approval(
    ctx: ChainContext, tok: Token, spender: str, spender_name: str, amount: int = 0
) -> Call:
    assert tok.address is not None
    data = contract(ctx.w3, "erc20", tok.address).encode_abi("approve", args=[spender, amount])
    verb = (
        f"approve {spender_name} to spend exactly"
        if amount
        else f"reset {spender_name}'s allowance of"
    )
    label = f"{verb} {tok.show(amount)} {tok.symbol}" if amount else f"{verb} {tok.symbol} to 0"
    return Call(tok.address, bytes.fromhex(data[2:]), 0, label)


class Erc20Adapter:
    name: ClassVar[str] = "erc20"

    def handles(self, action: Action) -> bool:
        return isinstance(action, Transfer)

    def build(self, ctx: ChainContext, action: Action) -> Built:
        assert isinstance(action, Transfer)
        tok = action.token
        label = f"send {tok.show(action.amount)} {tok.symbol} to {action.to}"
        if tok.address is None:
            return Built((Call(action.to, b"", action.amount, label),))
        data = contract(ctx.w3, "erc20", tok.address).encode_abi(
            "transfer", args=[action.to, action.amount]
        )
        return Built((Call(tok.address, bytes.fromhex(data[2:]), 0, label),))
