"""Per-step overhead of the strategy runner on the DCA example (aim: under 1.1x).

Both sides buy ETH with 100 USDC on the same devnet state, under the same dca-bot session:

- the execution engine alone: the core service proposes the typed step (simulate, authorise) and
  executes it (sign, send, verify, journal);
- the runner: `defi-agent run`'s Runner carrying out dca-eth.yaml's step as a one-iteration run
  (run store writes, session pinning, entry bookkeeping, then the same service calls).

The wait between DCA iterations (5 blocks) is the strategy's own schedule, not overhead, so each
runner sample is one iteration. Prints the medians and their ratio.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from agent.events import PolicyDecision, RunDone
from agent.intents.summary import describe, risk_of, summarise
from agent.runner.events import StrategyDone
from agent.runner.runner import Runner
from agent.runner.store import RunStore
from agent.wiring import build_service
from policies.model import find_policy
from strategies.script.model import EXAMPLES, SessionRef, TypedEntry, load_strategy
from tools.chain.anvil import Anvil, AnvilOptions
from tools.chain.plain import rpc
from tools.chain.running import DEVNET_WALLET
from tools.devnet.cache import build

ROUNDS = 9


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        image = build(root / "devnet" / "image", DEVNET_WALLET, root / "boot.log")
        with Anvil(AnvilOptions(load_state=image.state), root / "anvil.log") as anvil:
            engine, runner = measure(anvil.url, image.book, root)
    print(f"engine alone: {engine * 1000:.1f} ms per DCA step")
    print(f"runner:       {runner * 1000:.1f} ms per DCA step")
    print(f"runner / engine: {runner / engine:.2f}x (aim: under 1.1x)")


def measure(url: str, book, root: Path) -> tuple[float, float]:
    path = EXAMPLES / "dca-eth.yaml"
    strategy = load_strategy(path)
    once = strategy.model_copy(update={"repeat": None})
    entry = strategy.steps[0]
    assert isinstance(entry, TypedEntry)
    step = entry.fields
    plan = {
        "intent": describe(step),
        "summary": summarise([step]),
        "risk": risk_of([step]),
        "steps": [step],
    }
    service = build_service(url=url, book=book, data_dir=root / "data")
    assert strategy.session is not None and strategy.session.policy is not None
    policy = str(find_policy(strategy.session.policy, path.parent))
    store = RunStore(root / "data")

    def fresh_session() -> str:
        """A new dca-bot session per sample, so its weekly allowance never runs out."""
        session_id = service.authorizer.new_session(policy, "30d").id
        service.authorizer.pin(session_id)
        return session_id

    w3 = service.chain_context().w3

    async def engine_step(_session_id: str) -> None:
        plan_id = None
        async for event in service.propose(plan["intent"], plan):
            if isinstance(event, PolicyDecision):
                plan_id = event.plan_id
        assert plan_id is not None
        outcome = [e async for e in service.execute(plan_id, human_confirmed=False)]
        assert isinstance(outcome[-1], RunDone), outcome[-1]

    async def runner_step(session_id: str) -> None:
        pinned = once.model_copy(update={"session": SessionRef(id=session_id)})
        runner = Runner(service, store, pinned, path, path.read_text(), restart=True)
        events = [e async for e in runner.run()]
        assert isinstance(events[-1], StrategyDone) and events[-1].exit_code == 0, events[-1]

    engine, runner = [], []
    for _ in range(ROUNDS):
        for fn, times in ((engine_step, engine), (runner_step, runner)):
            snapshot = rpc(w3, "evm_snapshot")
            session_id = fresh_session()
            start = time.perf_counter()
            asyncio.run(fn(session_id))
            times.append(time.perf_counter() - start)
            rpc(w3, "evm_revert", snapshot)
    store.close()
    return statistics.median(engine), statistics.median(runner)


if __name__ == "__main__":
    main()
