"""`defi-agent plan "swap 1 ETH for USDC" --json` against `python -c pass`, in the same run.

Runs the installed `defi-agent` command, as a user does, after compiling the project's bytecode
(as pip does on install, and Python on a first run unless PYTHONDONTWRITEBYTECODE is set, as it is
on these machines), the rule parser's regular expressions (`agent.intents.patterns`) and the
default policy's default slippage (`agent.policy_defaults`), as `make setup` does. Prints both
medians and their ratio (aim: under 4), the three heaviest imports on the path, and two references
in the same units: the standard library the rule parser cannot do without (re, json, decimal,
typing), and what the Typer path would cost before parsing anything (Typer, pydantic and
pydantic-settings imported).
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 21
ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["plan", "swap 1 ETH for USDC", "--json"]
REFERENCES = (
    ("import re, json, decimal, typing", "floor: re, json, decimal, typing"),
    ("import pydantic, pydantic_settings, typer", "Typer path: its imports alone"),
)


def median(cmd: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    for package in ("agent", "strategies", "policies", "tools"):
        compileall.compile_dir(ROOT / package, quiet=1)
    for kept in ("agent.intents.patterns", "agent.policy_defaults"):
        subprocess.run([sys.executable, "-m", kept], cwd=ROOT, check=True)
    script = str(Path(sys.executable).with_name("defi-agent"))
    with tempfile.TemporaryDirectory() as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEFI_AGENT_")}
        env["DEFI_AGENT_DATA_DIR"] = data_dir
        baseline = median([sys.executable, "-c", "pass"], env)
        plan = median([script, *COMMAND], env)
        references = [
            (label, median([sys.executable, "-c", code], env)) for code, label in REFERENCES
        ]
        trace = subprocess.run(
            [sys.executable, "-X", "importtime", script, *COMMAND],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stderr
    rows = [line.split("|") for line in trace.splitlines() if line.startswith("import time:")]
    top = sorted((r for r in rows if r[1].strip().isdigit()), key=lambda r: -int(r[1]))
    print(f"python -c pass                          {baseline * 1000:7.1f} ms   (baseline)")
    print(
        f"defi-agent plan ... --json              {plan * 1000:7.1f} ms   {plan / baseline:5.2f}x"
    )
    for label, seconds in references:
        print(f"  {label:<38}{seconds * 1000:7.1f} ms   {seconds / baseline:5.2f}x")
    print(
        "heaviest imports:", ", ".join(f"{p[2].strip()} {int(p[1]) / 1000:.1f} ms" for p in top[:3])
    )


if __name__ == "__main__":
    main()
