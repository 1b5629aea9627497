"""The contract every protocol adapter honours, as a mixin each adapter's test class subclasses
(the way web3.py ships its provider conformance suites)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from eth_abi import decode

from tools.actions import Action
from tools.erc20.reads import Token, token
from tools.protocol import ChainContext, ProtocolAdapter
from tools.simulator import Simulator

APPROVE = bytes.fromhex("095ea7b3")


@dataclass(frozen=True)
class Case:
    """An action and the sign of the wallet's balance change it must cause, per token."""

    name: str
    make: Callable[[Callable[[str], Token]], Action]
    expect: dict[str, int]


class AdapterContract:
    adapter: ClassVar[ProtocolAdapter]
    cases: ClassVar[tuple[Case, ...]]

    def _ctx(self, devnet) -> ChainContext:
        w3 = devnet.w3
        return ChainContext(
            w3, devnet.book, devnet.wallet, now=w3.eth.get_block("latest")["timestamp"]
        )

    def _built(self, devnet):
        ctx = self._ctx(devnet)
        for case in self.cases:
            action = case.make(lambda s: token(ctx.w3, ctx.book, s))
            assert self.adapter.handles(action), case.name
            yield case, ctx, self.adapter.build(ctx, action)

    def test_calls_go_only_to_the_address_book(self, devnet) -> None:
        known = set(devnet.book.tokens.values()) | set(devnet.book.contracts())
        for case, _ctx, built in self._built(devnet):
            assert built.calls, case.name
            for call in built.calls:
                assert call.to in known, f"{case.name}: {call.label} goes to {call.to}"

    def test_approvals_are_exact_and_never_unlimited(self, devnet) -> None:
        for case, _ctx, built in self._built(devnet):
            for call in built.calls:
                if call.selector == APPROVE:
                    _spender, amount = decode(["address", "uint256"], call.data[4:])
                    assert amount < 2**128, f"{case.name}: unlimited approval"

    def test_simulation_moves_balances_as_expected(self, devnet) -> None:
        for case, ctx, built in self._built(devnet):
            (result,) = Simulator(ctx).simulate([built.calls])
            assert result.ok, f"{case.name}: {result.failure and result.failure.revert_reason}"
            for symbol, sign in case.expect.items():
                delta = result.deltas.get(symbol, 0)
                assert (delta > 0) - (delta < 0) == sign, f"{case.name}: {symbol} moved by {delta}"

    def test_building_and_simulating_change_nothing(self, devnet) -> None:
        w3 = devnet.w3
        before = (
            w3.eth.block_number,
            w3.eth.get_transaction_count(devnet.wallet),
            w3.eth.get_balance(devnet.wallet),
        )
        for _case, ctx, built in self._built(devnet):
            Simulator(ctx).simulate([built.calls])
        after = (
            w3.eth.block_number,
            w3.eth.get_transaction_count(devnet.wallet),
            w3.eth.get_balance(devnet.wallet),
        )
        assert before == after
