"""Simulate calls on a throwaway copy of the chain with ``eth_simulateV1``.

The node runs the calls in a block of its own that it never commits: balances, nonce and block
number stay exactly as they were, nothing is left behind if the process dies, and another process
reading the chain meanwhile never sees simulated state. Balances (ERC-20 ``balanceOf`` probes placed
between the steps), the Aave health factor, gas, events and per-call results come back in one
round trip; native ETH movements come from the node's traced transfers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache
from typing import Any

from eth_abi import decode

from agent.errors import DefiAgentError, SimulationReverted
from tools.aave_v3.reads import NO_DEBT_HEALTH_FACTOR
from tools.chain.address import keccak
from tools.chain.contracts import abi, contract
from tools.chain.plain import rpc
from tools.protocol import ChainContext
from tools.revert import explain
from tools.tx import NATIVE, Call, SimulatedCall

_ETH_TRANSFER_LOG = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
_TRANSFER_TOPIC = "0x" + keccak(b"Transfer(address,address,uint256)").hex()


@dataclass(frozen=True)
class StepResult:
    """What one step's calls did: per call, and the wallet's balance changes over the step."""

    calls: tuple[SimulatedCall, ...]
    deltas: dict[str, int]
    health_factor_after: Decimal | None
    events: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(c.success for c in self.calls)

    @property
    def failure(self) -> SimulatedCall | None:
        return next((c for c in self.calls if not c.success), None)

    @property
    def gas_used(self) -> int:
        return sum(c.gas_used for c in self.calls)

    @property
    def fee_wei(self) -> int:
        return sum(c.fee_wei for c in self.calls)


@cache
def _event_names() -> dict[str, str]:
    names = {}
    for name in ("erc20", "weth9", "uniswap_pool", "aave_pool"):
        for entry in abi(name):
            if entry["type"] == "event":
                signature = f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"
                names[keccak(signature.encode()).hex()] = entry["name"]
    return names


class Simulator:
    def __init__(self, ctx: ChainContext) -> None:
        self.ctx = ctx
        self.symbols = [s for s in ctx.book.tokens]
        self._balance_of = contract(ctx.w3, "erc20", ctx.book.tokens[self.symbols[0]]).encode_abi(
            "balanceOf", args=[ctx.wallet]
        )
        self._account_data = contract(ctx.w3, "aave_pool", ctx.book.aave_v3.pool).encode_abi(
            "getUserAccountData", args=[ctx.wallet]
        )

    def _probe(self) -> list[dict[str, Any]]:
        probes = [
            {"from": self.ctx.wallet, "to": self.ctx.book.tokens[s], "data": self._balance_of}
            for s in self.symbols
        ]
        probes.append(
            {"from": self.ctx.wallet, "to": self.ctx.book.aave_v3.pool, "data": self._account_data}
        )
        return probes

    def simulate(self, steps: Sequence[Sequence[Call]]) -> list[StepResult]:
        """Run ``steps`` in order in one simulated block; one result per step. Balances are probed
        after every call, so each call carries its own balance changes."""
        calls: list[dict[str, Any]] = self._probe()
        for step in steps:
            for call in step:
                calls.append(self._tx(call))
                calls += self._probe()
        block_calls: dict[str, Any] = {"calls": calls}
        if self.ctx.now:
            # At the time the next block will be mined: by default the simulated block has the
            # latest block's, so on a chain idle since then Aave's index update and Uniswap's
            # oracle write are skipped, and gas comes out under what the transactions use.
            block_calls["blockOverrides"] = {"time": hex(self.ctx.now)}
        payload = {
            "blockStateCalls": [block_calls],
            "traceTransfers": True,
            "validation": False,
        }
        try:
            (block,) = rpc(self.ctx.w3, "eth_simulateV1", payload, "latest")
        except DefiAgentError as error:  # QA: shown as an internal rpc_error
            if "insufficient funds" not in error.message.lower():
                raise
            raise SimulationReverted(
                "the wallet's ETH does not cover what the transactions send and their network "
                "fees now",
                code="insufficient_funds",
            ) from None
        # What a transaction sent now pays a unit of gas: the next block's base fee and the tip.
        # Not the simulated block's base fee: anvil takes it from the latest block, and right after
        # a state load from a stale record of it (2,340 wei where the next block charges 1 gwei).
        fee_per_gas = int(rpc(self.ctx.w3, "eth_gasPrice"), 16)
        results = block["calls"]
        width = len(self.symbols) + 1
        cursor = width
        before = self._read_probe(results[:width])
        out = []
        for step in steps:
            sims, step_events = [], []
            step_start = before
            for call in step:
                raw = results[cursor]
                after = self._read_probe(results[cursor + 1 : cursor + 1 + width])
                cursor += 1 + width
                sim = self._simulated(call, raw, fee_per_gas)
                deltas = {s: after[0][s] - before[0][s] for s in self.symbols}
                deltas[NATIVE] = self._eth_delta(raw) - sim.fee_wei
                sims.append(replace(sim, balance_deltas={k: v for k, v in deltas.items() if v}))
                step_events += self._events(raw)
                before = after
            total: dict[str, int] = {}
            for sim in sims:
                for symbol, delta in sim.balance_deltas.items():
                    total[symbol] = total.get(symbol, 0) + delta
            touched = (
                any(c.to == self.ctx.book.aave_v3.pool for c in step) or before[1] != step_start[1]
            )
            reverted = any(not sim.success for sim in sims)
            hf = before[1] if touched and not reverted else None  # a revert left it unchanged
            result = StepResult(
                tuple(sims), {k: v for k, v in total.items() if v}, hf, tuple(step_events)
            )
            out.append(result)
            if not result.ok:
                break
        return out

    def _tx(self, call: Call) -> dict[str, Any]:
        return {
            "from": self.ctx.wallet,
            "to": call.to,
            "data": "0x" + call.data.hex(),
            "value": hex(call.value),
        }

    def _read_probe(self, results: list[dict[str, Any]]) -> tuple[dict[str, int], Decimal | None]:
        balances = {
            s: int(r["returnData"], 16) for s, r in zip(self.symbols, results, strict=False)
        }
        account = decode(["uint256"] * 6, bytes.fromhex(results[-1]["returnData"][2:]))
        hf = account[5]
        return balances, None if hf == NO_DEBT_HEALTH_FACTOR else Decimal(hf).scaleb(-18)

    def _simulated(self, call: Call, result: dict[str, Any], fee_per_gas: int) -> SimulatedCall:
        gas = int(result["gasUsed"], 16)
        ok = int(result["status"], 16) == 1
        reason = None
        if not ok:
            error = result.get("error") or {}
            reason = explain(error.get("data") or result.get("returnData"), error.get("message"))
        return SimulatedCall(call, ok, gas, gas * fee_per_gas, {}, reason)

    def _eth_delta(self, result: dict[str, Any]) -> int:
        wallet = self.ctx.wallet.lower()[2:]
        delta = 0
        for log in result.get("logs", []):
            if log["address"].lower() != _ETH_TRANSFER_LOG or log["topics"][0] != _TRANSFER_TOPIC:
                continue
            amount = int(log["data"], 16)
            if log["topics"][1].endswith(wallet):
                delta -= amount
            if log["topics"][2].endswith(wallet):
                delta += amount
        return delta

    def _events(self, result: dict[str, Any]) -> list[str]:
        names = _event_names()
        return [
            names[log["topics"][0].removeprefix("0x")]
            for log in result.get("logs", [])
            if log["topics"]
            and log["address"].lower() != _ETH_TRANSFER_LOG
            and log["topics"][0].removeprefix("0x") in names
        ]
