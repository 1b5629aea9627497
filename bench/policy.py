"""Policy decisions per second for a 5-transaction batch, and the policy's time as a ratio of the
simulation of the same batch on the devnet (aim: policy under 5% of simulation).

The decision is `PolicyEngine.authorize`: the five calls decoded, every rule, the ledger's usage
read. It is timed two ways, in the same rounds as the simulation (a slow spell of the machine falls
on both): as a proposal runs it, right after the simulation (the process waited on anvil meanwhile,
its caches are cold, and the same decision takes about twice as long: any other work in between,
even a sleep, does the same); and back to back, ten in a row, for the decisions per second. Beside
them, as shares of the same simulation, what execution adds right before signing
(`PolicyEngine.grant`: decided again under the ledger's write lock, five reservations, five EIP-712
authorisations signed; then released, as the bench sends nothing), and for reference the five
calls decoded with eth_abi.

The batch: approve + swap 3,000 USDC into DAI, approve + supply USDC to Aave, borrow DAI: three
plan steps. The baseline simulates the whole batch once (`eth_simulateV1`). A proposal simulates
more: each step on top of the ones before, as the next step is resolved from what they did (so
three simulations, of one, two and three steps); that is timed too, for the decision as a proposal
runs it.
"""

from __future__ import annotations

import hashlib
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from eth_abi import decode as abi_decode

from agent.db import connect as connect_db
from policies.engine import PolicyEngine
from policies.sessions import SessionStore
from tools.aave_v3.reads import usd_prices
from tools.actions import Borrow, Supply, Swap
from tools.adapters import adapter_for
from tools.chain.anvil import Anvil, AnvilOptions
from tools.chain.contracts import Function, by_selector
from tools.chain.rpc import connect
from tools.chain.running import DEVNET_WALLET
from tools.devnet.cache import build
from tools.erc20.reads import token
from tools.protocol import ChainContext
from tools.simulator import Simulator
from tools.tx import Call

ROUNDS = 60
BURST = 10
POLICY = """
name = "bench"
ttl = "7d"
[allow]
actions = ["swap", "supply", "borrow"]
protocols = ["uniswap-v3", "aave-v3"]
tokens = ["ETH", "WETH", "USDC", "DAI", "WBTC"]
[limits]
max_usd_per_tx = 1000000
[[limits.windows]]
usd = 1000000000
period = "24h"
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        image = build(root / "image", DEVNET_WALLET, root / "boot.log")
        with Anvil(AnvilOptions(load_state=image.state), root / "anvil.log") as anvil:
            w3, book = connect(anvil.url), image.book
            ctx = ChainContext(
                w3, book, DEVNET_WALLET, now=int(w3.eth.get_block("latest")["timestamp"])
            )
            t = lambda s: token(w3, book, s)  # noqa: E731
            actions = [
                Swap(t("USDC"), t("DAI"), "exact_in", 3000 * 10**6, 50),
                Supply(t("USDC"), 5000 * 10**6),
                Borrow(t("DAI"), 1000 * 10**18),
            ]
            steps = [adapter_for(a).build(ctx, a).calls for a in actions]
            calls = [c for step in steps for c in step]
            assert len(calls) == 5, [c.label for c in calls]
            simulator = Simulator(ctx)
            results = simulator.simulate(steps)
            simulated = [c for r in results for c in r.calls]
            health = [r.health_factor_after for r in results for _ in r.calls]
            prices = usd_prices(w3, book)
            decimals: dict[str, int] = {s: t(s).decimals for s in book.symbols}
            conn = connect_db(root / "data")
            store = SessionStore(conn, hashlib.sha256(b"bench").digest())
            engine = PolicyEngine(conn, store, book, DEVNET_WALLET)
            session = store.create(POLICY, "bench.toml", None, None, book.chain_id, ctx.now)

            def decide():
                decision = engine.authorize(
                    session, calls, simulated, health, prices, decimals, ctx.now
                )
                assert decision.allowed, decision.violations
                return decision

            def grant() -> None:
                for g in engine.grant(session, decision, ctx.now, prices).grants:
                    engine.settle(g, spent=False)

            decision = decide()
            simulate_s, stepwise_s, cold_s, burst_s, grant_s, abi_s = _interleaved(
                lambda: simulator.simulate(steps),
                lambda: [simulator.simulate(steps[:n]) for n in range(1, len(steps) + 1)],
                decide,
                lambda: [decide() for _ in range(BURST)],
                grant,
                lambda: [abi_decode(by_selector_of(c).inputs, c.data[4:]) for c in calls],
            )
            policy_s = burst_s / BURST
    rows = (
        ("simulation of the batch", simulate_s, "(baseline)"),
        ("  step by step, as a proposal runs it", stepwise_s, f"{stepwise_s / simulate_s:6.2f}x"),
        ("policy decision, back to back", policy_s, f"{policy_s / simulate_s:6.1%} of simulation"),
        (
            "  as a proposal: after simulating",
            cold_s,
            f"{cold_s / simulate_s:6.1%} of simulation, {cold_s / stepwise_s:.1%} step by step",
        ),
        ("  at execution: grant", grant_s, f"{grant_s / simulate_s:6.1%} of simulation"),
        ("  eth_abi decoding the 5 calls", abi_s, f"{abi_s / simulate_s:6.1%} of simulation"),
    )
    for label, seconds, note in rows:
        print(f"{label:<38}{seconds * 1000:7.3f} ms   {note}")
    print(f"decisions per second {1 / policy_s:22.0f}   (5-transaction batch)")
    print(f"prices used: {', '.join(f'{k} {v}' for k, v in prices.items() if v != Decimal(1))}")


def by_selector_of(call: Call) -> Function:
    names = ("erc20", "weth9", "swap_router02", "aave_pool")
    return next(by_selector(n)[call.selector] for n in names if call.selector in by_selector(n))


def _interleaved(*fns) -> list[float]:
    """The median time of each of ``fns``, run one after another in each of `ROUNDS` rounds: a
    slow spell of the machine falls on all of them alike, not on whichever ran then."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(ROUNDS):
        for fn, spent in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


if __name__ == "__main__":
    main()
