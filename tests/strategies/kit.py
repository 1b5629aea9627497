"""Driving strategy runs from tests: the real CLI in a subprocess on the session's devnet, a block
miner standing in for time passing, and the oracle moved the way a Chainlink update moves it."""

from __future__ import annotations

import json
import subprocess
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_abi import encode
from eth_utils import keccak

from tests.chain.helpers import TEST_GAS, send
from tests.conftest import start_cli
from tools.chain.contracts import contract
from tools.chain.plain import rpc
from tools.chain.rpc import connect

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "strategies" / "examples"


def attach(devnet: Any, data_dir: Path) -> Path:
    """A data directory whose running chain is the session's devnet."""
    data_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "profile": "local",
        "pid": devnet.pid,
        "port": int(devnet.url.rsplit(":", 1)[1]),
        "chain_id": devnet.book.chain_id,
        "book": devnet.book.model_dump(),
    }
    (data_dir / "chain.json").write_text(json.dumps(record))
    return data_dir


def start_run(*args: str, data_dir: Path) -> subprocess.Popen[str]:
    return start_cli("run", *args, "--json", data_dir=data_dir)


def events_of(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def refusal(stdout: str) -> str:
    """The one error document a command refused with before its first event, in one line as
    the command says it: its message, then its hint in brackets."""
    (line,) = [line for line in stdout.splitlines() if line.strip()]
    error = json.loads(line)["error"]
    return f"{error['message']} ({error['hint']})" if "hint" in error else str(error["message"])


def named(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == name]


def set_oracle_price(devnet: Any, symbol: str, usd: Decimal) -> None:
    """Aave's oracle answers ``usd`` for ``symbol`` from the next block: the devnet's price feed
    (a MockAggregator, answer in storage slot 0) is rewritten and a block mined."""
    w3 = devnet.w3
    oracle = contract(w3, "aave_oracle", devnet.book.aave_v3.oracle)
    asset = devnet.book.token(symbol)
    feed = oracle.functions.getSourceOfAsset(asset).call()
    answer = int(usd * 10**8)
    rpc(w3, "anvil_setStorageAt", feed, "0x0", "0x" + answer.to_bytes(32, "big").hex())
    rpc(w3, "evm_mine")
    assert oracle.functions.getAssetPrice(asset).call() == answer


class Miner:
    """Mines a block every ``interval`` seconds while the test waits for a run."""

    def __init__(self, url: str, interval: float = 0.05) -> None:
        self.w3 = connect(url)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._mine, daemon=True)

    def _mine(self) -> None:
        while not self._stop.wait(self.interval):
            rpc(self.w3, "evm_mine")

    def __enter__(self) -> Miner:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def buy_eth_on_the_pool(devnet: Any, usdc: int) -> None:
    """Another trader buys ETH with ``usdc`` (whole USDC) on the WETH/USDC 0.05 % pool, moving its
    price up. The trader's USDC is minted by the devnet's token owner (the test tokens' deployer)."""
    w3, book = devnet.w3, devnet.book
    accounts = rpc(w3, "eth_accounts")
    deployer, trader = accounts[-4], accounts[1]
    raw = usdc * 10**6
    mint = keccak(text="mint(address,uint256)")[:4] + encode(["address", "uint256"], [trader, raw])
    tx = {
        "from": deployer,
        "to": book.token("USDC"),
        "data": "0x" + mint.hex(),
        "gas": hex(TEST_GAS),
    }
    assert int(rpc(w3, "eth_sendTransactionSync", tx)["status"], 16) == 1
    router = book.uniswap_v3.swap_router02
    send(w3, trader, "erc20", book.token("USDC"), "approve", router, raw)
    params = (book.token("USDC"), book.token("WETH"), 500, trader, raw, 0, 0)
    send(w3, trader, "swap_router02", router, "exactInputSingle", params)
