"""ERC-20 calls: exact approvals (never unlimited, made by every plan that spends through one) and
transfers, native ETH included."""

from __future__ import annotations

from typing import ClassVar

from tools.actions import Action, Transfer
from tools.chain.contracts import contract
from tools.erc20.reads import Token
from tools.protocol import Built, ChainContext
from tools.tx import Call


def approve(ctx: ChainContext, tok: Token, spender: str, spender_name: str, amount: int) -> Call:
    """An approval of exactly ``amount`` (0: the allowance reset), made even when the allowance
    already covers it: an allowance there may be another plan's, about to be used up (two `do
    --yes` at once: the plan built between the other's approval and its supply left its own
    approval out, and reverted once the other's supply had used it; a CI flake)."""
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
