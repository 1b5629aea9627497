"""Time of "swap 1 ETH for USDC" three ways, in one run on the same devnet state:

- the agent's core service: plan, quote, simulate, authorise, sign, send, verify, journal;
- the same swap sent with web3.py's defaults (default middleware, build_transaction's gas
  estimate and fee lookup, sign, send_raw_transaction, wait_for_transaction_receipt);
- the fastest raw path: a QuoterV2 eth_call, then eth_sendTransactionSync.

And a dry run of a three-step plan. Prints medians and the ratios (aims: agent faster than web3.py's
defaults, within 2.5x of the raw path; three-step dry run under 0.3 s).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from eth_account import Account
from web3 import Web3

from tools.chain.anvil import Anvil, AnvilOptions
from tools.chain.contracts import abi
from tools.chain.plain import Client, head, rpc
from tools.chain.rpc import connect
from tools.chain.running import DEVNET_WALLET
from tools.devnet.cache import build

ROUNDS = 7
DEVNET_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def median_time(fn: Callable[[], object], w3: Web3) -> float:
    times = []
    for _ in range(ROUNDS):
        snapshot = rpc(w3, "evm_snapshot")
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        rpc(w3, "evm_revert", snapshot)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        image = build(root / "devnet" / "image", DEVNET_WALLET, root / "boot.log")
        with Anvil(AnvilOptions(load_state=image.state), root / "anvil.log") as anvil:
            run(anvil.url, image.book, root)


def run(url: str, book, root: Path) -> None:
    lean = connect(url)
    weth, usdc = book.token("WETH"), book.token("USDC")
    router_address, quoter_address = book.uniswap_v3.swap_router02, book.uniswap_v3.quoter_v2
    amount = 10**18

    defaults = Web3(Web3.HTTPProvider(url))
    account = Account.from_key(DEVNET_KEY)
    quoter = defaults.eth.contract(address=quoter_address, abi=abi("quoter_v2"))
    router = defaults.eth.contract(address=router_address, abi=abi("swap_router02"))

    def web3_defaults() -> None:
        out, *_ = quoter.functions.quoteExactInputSingle((weth, usdc, amount, 500, 0)).call()
        params = (weth, usdc, 500, account.address, amount, out * 995 // 1000, 0)
        tx = router.functions.exactInputSingle(params).build_transaction(
            {
                "from": account.address,
                "value": amount,
                "nonce": defaults.eth.get_transaction_count(account.address),
            }
        )
        tx["gas"] = (
            tx["gas"] * 13 // 10
        )  # the estimate misses Uniswap's oracle write in a new block
        signed = account.sign_transaction(tx)
        receipt = defaults.eth.wait_for_transaction_receipt(
            defaults.eth.send_raw_transaction(signed.raw_transaction)
        )
        assert receipt["status"] == 1

    lean_quoter = lean.eth.contract(address=quoter_address, abi=abi("quoter_v2"))
    lean_router = lean.eth.contract(address=router_address, abi=abi("swap_router02"))

    def raw_path() -> None:
        out, *_ = lean_quoter.functions.quoteExactInputSingle((weth, usdc, amount, 500, 0)).call()
        params = (weth, usdc, 500, DEVNET_WALLET, amount, out * 995 // 1000, 0)
        data = lean_router.encode_abi("exactInputSingle", args=[params])
        tx = {
            "from": DEVNET_WALLET,
            "to": router_address,
            "data": data,
            "value": hex(amount),
            "gas": hex(300_000),
        }
        receipt = rpc(lean, "eth_sendTransactionSync", tx)
        assert int(receipt["status"], 16) == 1

    web3_s = median_time(web3_defaults, lean)
    raw_s = median_time(raw_path, lean)
    print(f"web3.py defaults          {web3_s * 1000:8.1f} ms")
    print(f"raw (quote + sendTxSync)  {raw_s * 1000:8.1f} ms   (baseline)")
    print(f"web3.py defaults / raw    {web3_s / raw_s:8.2f}x")
    swap, dry_run = _agent(url, book, root)
    agent_s = median_time(swap, lean)
    dry_s = median_time(dry_run, lean)
    print(
        f"agent core service        {agent_s * 1000:8.1f} ms   {agent_s / raw_s:6.2f}x raw   {agent_s / web3_s:6.2f}x web3.py defaults"
    )
    print(f"3-step plan dry run       {dry_s * 1000:8.1f} ms   {dry_s / raw_s:6.2f}x raw")


ROOMY_POLICY = """
name = "bench"
ttl = "7d"
[allow]
actions = ["swap", "supply", "withdraw", "borrow", "repay", "wrap", "unwrap", "transfer"]
protocols = ["uniswap-v3", "aave-v3"]
tokens = ["ETH", "WETH", "USDC", "DAI", "WBTC"]
[limits]
max_usd_per_tx = 1000000
[[limits.windows]]
usd = 100000000
period = "24h"
"""


def _agent(url: str, book, root: Path):
    from agent.events import RunFailed
    from agent.wiring import build_service

    policy = root / "bench.toml"
    policy.write_text(ROOMY_POLICY)
    service = build_service(url=url, book=book, data_dir=root / "data", policy_file=policy)
    # Started before the rounds' snapshots, at the latest block's time: reverting to one puts the
    # chain's clock back, at times behind the next block's time when the session would have
    # begun, and a session begun after the chain's now is void.
    gate = service.authorizer
    gate.sessions.create(ROOMY_POLICY, str(policy), None, None, book.chain_id, head(Client(url))[1])

    async def swap() -> None:
        plan_id = None
        async for event in service.propose("swap 1 ETH for USDC"):
            assert not isinstance(event, RunFailed), event
            plan_id = event.plan_id
        async for event in service.execute(plan_id, human_confirmed=True):
            assert not isinstance(event, RunFailed), event

    async def dry_run() -> None:
        plan_id = None
        async for event in service.propose(
            "swap 1 ETH for USDC then supply it to aave and borrow 100 DAI"
        ):
            assert not isinstance(event, RunFailed), event
            plan_id = event.plan_id
        service.discard(plan_id, dry_run=True)

    return (lambda: asyncio.run(swap())), (lambda: asyncio.run(dry_run()))


if __name__ == "__main__":
    main()
