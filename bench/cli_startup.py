"""`defi-agent plan "swap 1 ETH for USDC" --json` against `python -c pass`, in the same run.

Prints both medians and their ratio (aim: under 4), the three heaviest imports on the path, and the
floor the stack sets: the start-up of Python importing only what the rule-parser path cannot do
without (Typer for the command line, pydantic for the plan models, pydantic-settings for the
configuration), each as a ratio of the same baseline.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

ROUNDS = 15
FLOOR = (
    ("import typer", "typer"),
    ("from pydantic import BaseModel", "pydantic BaseModel"),
    ("import pydantic_settings, typer", "pydantic-settings + typer"),
)


def median(cmd: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "DEFI_AGENT_DATA_DIR": data_dir}
        baseline = median([sys.executable, "-c", "pass"], env)
        plan = median([sys.executable, "-m", "agent", "plan", "swap 1 ETH for USDC", "--json"], env)
        floor = [(label, median([sys.executable, "-c", code], env)) for code, label in FLOOR]
        trace = subprocess.run(
            [
                sys.executable,
                "-X",
                "importtime",
                "-m",
                "agent",
                "plan",
                "swap 1 ETH for USDC",
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stderr
    rows = [line.split("|") for line in trace.splitlines() if line.startswith("import time:")]
    top = sorted((r for r in rows if r[1].strip().isdigit()), key=lambda r: -int(r[1]))
    print(f"python -c pass                     {baseline * 1000:7.1f} ms   (baseline)")
    print(f"defi-agent plan ... --json         {plan * 1000:7.1f} ms   {plan / baseline:5.2f}x")
    for label, seconds in floor:
        print(f"  floor: import {label:<26}{seconds * 1000:7.1f} ms   {seconds / baseline:5.2f}x")
    print(
        "heaviest imports:", ", ".join(f"{p[2].strip()} {int(p[1]) / 1000:.0f} ms" for p in top[:3])
    )


if __name__ == "__main__":
    main()
