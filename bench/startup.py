"""Devnet start-up: cold bootstrap vs cached start, beside a bare anvil start in the same run.

Prints each time and the ratios (these machines are noisy: compare ratios, not absolute times).
Aims: a cached `chain up` ready in under 0.5 s; a cold bootstrap in under 5 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.chain.anvil import Anvil, AnvilOptions
from tools.chain.running import DEVNET_WALLET
from tools.devnet.cache import build

ROUNDS = 5


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bare_anvil(log: Path) -> None:
    with Anvil(AnvilOptions(), log):
        pass


def cached_anvil(state: Path, log: Path) -> None:
    with Anvil(AnvilOptions(load_state=state), log):
        pass


def cli_chain_up(data_dir: Path) -> float:
    """`defi-agent chain up` from a cached image: the whole command, as a user runs it."""
    env = {"DEFI_AGENT_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "agent", "chain", "up"], env=env, check=True, capture_output=True
    )
    elapsed = time.perf_counter() - start
    subprocess.run(
        [sys.executable, "-m", "agent", "chain", "down"], env=env, check=True, capture_output=True
    )
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = root / "anvil.log"
        cold = [_timed(lambda i=i: build(root / f"img{i}", DEVNET_WALLET, log)) for i in range(3)]
        image = build(root / "devnet" / "image", DEVNET_WALLET, log)
        bare = [_timed(lambda: bare_anvil(log)) for _ in range(ROUNDS)]
        cached = [_timed(lambda: cached_anvil(image.state, log)) for _ in range(ROUNDS)]
        data_dir = root / "data"
        subprocess.run(
            [sys.executable, "-m", "agent", "chain", "up"],
            env={"DEFI_AGENT_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [sys.executable, "-m", "agent", "chain", "down"],
            env={"DEFI_AGENT_DATA_DIR": str(data_dir)},
            check=True,
            capture_output=True,
        )
        cli = [cli_chain_up(data_dir) for _ in range(3)]
    bare_s, cached_s, cold_s, cli_s = (statistics.median(x) for x in (bare, cached, cold, cli))
    print(f"bare anvil start           {bare_s * 1000:8.1f} ms   (baseline)")
    print(f"cached devnet start        {cached_s * 1000:8.1f} ms   {cached_s / bare_s:6.2f}x bare")
    print(f"cold bootstrap             {cold_s * 1000:8.1f} ms   {cold_s / bare_s:6.2f}x bare")
    print(f"cold / cached              {cold_s / cached_s:8.1f}x")
    print(
        f"`defi-agent chain up` (cached, whole CLI) {cli_s * 1000:8.1f} ms   {cli_s / bare_s:6.2f}x bare"
    )


if __name__ == "__main__":
    main()
