"""`defi-agent plan` on the rule parser is answered before Typer and pydantic are imported: it takes
exactly the requests the Typer app would answer the same way, and answers them identically."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli.quick import DEFAULT_DATA_DIR, request
from agent.settings import Settings
from policies import DEFAULT_POLICY
from tests.conftest import imported, run_cli
from tests.strategies.kit import attach

HEAVY = ("typer", "click", "pydantic", "pydantic_settings", "web3", "langchain", "textual")
ARGV = ["plan", "swap 1 ETH for USDC", "--json"]


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real CLI, with the modules it imported listed on stderr."""
    full = {k: v for k, v in os.environ.items() if not k.upper().startswith("DEFI_AGENT_")}
    full.update({"DEFI_AGENT_DATA_DIR": str(cwd / "data"), **(env or {})})
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "agent", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=60,
    )


def test_the_rule_parser_path_imports_nothing_heavy(tmp_path: Path) -> None:
    result = cli(*ARGV, cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout)["steps"][0]["token_out"] == "USDC"
    assert not imported(result.stderr) & set(HEAVY), sorted(imported(result.stderr) & set(HEAVY))


REQUESTS = [
    ("swap 1 ETH for USDC", "--json"),
    ("swap 0.1 WBTC to USDC then supply it to aave", "--json"),
    ("buy 1 eth with usdc with 0.3% slippage", "--json"),
    ("send 10 usdc to 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "--json"),
    ("withdraw my usdc from aave and swap it for eth",),
    ("swap eth for usdc", "--json"),
    ("swap 1 sol for usdc", "--json"),
    ("stake my eth",),
    ("swap 1 eth for usdc with 80% slippage", "--json"),
    ("what's my health factor?",),  # QA: told to start with swap, buy, ...; not where to ask
]


@pytest.mark.parametrize("args", REQUESTS, ids=[a[0] for a in REQUESTS])
def test_both_paths_answer_alike(tmp_path: Path, args: tuple[str, ...]) -> None:
    """The same request on the quick path and, with a setting only the Typer path takes
    (DEFI_AGENT_FORK_BLOCK, which `plan` does not use), through Typer and the validating planner."""
    quick = cli("plan", *args, cwd=tmp_path)
    typer = cli("plan", *args, cwd=tmp_path, env={"DEFI_AGENT_FORK_BLOCK": "1"})
    assert "typer" not in imported(quick.stderr) and "typer" in imported(typer.stderr)
    assert (quick.returncode, quick.stdout) == (typer.returncode, typer.stdout)
    errors = [line for line in quick.stderr.splitlines() if not line.startswith("import time")]
    assert errors == [line for line in typer.stderr.splitlines() if line.startswith("error:")]
    if args[0].endswith("?"):
        assert errors[0].endswith('ask a question with `defi-agent do "QUESTION"`, or in the chat)')


ENV_CASES = [
    ({}, "", True),
    ({"DEFI_AGENT_PROFILE": "fork", "DEFI_AGENT_RPC_URL": "http://x"}, "", True),
    ({"defi_agent_data_dir": "elsewhere"}, "", True),
    ({"DEFI_AGENT_SOMETHING_ELSE": "x"}, "", True),
    ({"DEFI_AGENT_MODEL": "openai:gpt-4o-mini"}, "", False),
    ({"Defi_Agent_Model": "ollama:qwen2.5"}, "", False),
    ({"DEFI_AGENT_PROFILE": "LOCAL"}, "", False),
    ({"DEFI_AGENT_PROFILE": "mainnet"}, "", False),
    ({"DEFI_AGENT_FORK_BLOCK": "21000000"}, "", False),
    ({"DEFI_AGENT_DATA_DIR": ""}, "", False),
    ({"DEFI_AGENT_POLICY": "dca-bot"}, "", False),
    ({"DEFI_AGENT_BLOCK_SECONDS": "abc"}, "", False),
    ({"DEFI_AGENT_DATA_DIR": "a-file/data"}, "", False),
    ({}, "# only comments\n\n   # and blanks\n", True),
    ({}, "DEFI_AGENT_PROFILE=local\nDEFI_AGENT_DATA_DIR=.here\n", True),
    ({}, "export DEFI_AGENT_DATA_DIR=.here\r\nOTHER=1\r\n", True),
    ({"DEFI_AGENT_DATA_DIR": "env-wins"}, "DEFI_AGENT_DATA_DIR=.here\n", True),
    ({}, "DEFI_AGENT_MODEL=openai:gpt-4o-mini\n", False),
    ({}, 'DEFI_AGENT_DATA_DIR=".here"\n', False),
    ({}, "DEFI_AGENT_DATA_DIR=.here # a comment\n", False),
    ({}, "DEFI_AGENT_DATA_DIR=${HOME}/x\n", False),
    ({}, "not a setting line\n", False),
]


@pytest.mark.parametrize(("env", "dotenv", "quick"), ENV_CASES)
def test_quick_only_when_the_settings_would_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict, dotenv: str, quick: bool
) -> None:
    """Wherever the quick path takes a request, pydantic-settings, reading the same environment
    and `.env`, configures no model and the same data directory."""
    for name in list(os.environ):
        if name.upper().startswith("DEFI_AGENT_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("")
    if dotenv:
        (tmp_path / ".env").write_text(dotenv)
    taken = request(ARGV, os.environ, Path(".env"))
    assert (taken is not None) == quick
    if taken is not None:
        settings = Settings()
        assert settings.model is None
        assert settings.data_dir == taken.data_dir


@pytest.mark.parametrize(
    ("argv", "quick"),
    [
        (["plan", "swap 1 eth for usdc"], True),
        (["plan", "--json", "swap 1 eth for usdc"], True),
        (["plan", "swap 1 eth for usdc", "--model", "openai:x"], False),
        (["plan", "swap 1 eth for usdc", "--json", "--json"], False),
        (["plan", "--schema"], False),
        (["plan", "swap 1 eth for usdc", "--help"], False),
        (["plan", "--", "swap 1 eth for usdc"], False),
        (["plan", "  "], False),
        (["plan"], False),
        (["do", "swap 1 eth for usdc"], False),
    ],
)
def test_quick_only_for_plain_plan_arguments(tmp_path: Path, argv: list[str], quick: bool) -> None:
    taken = request(argv, {}, tmp_path / ".env")
    assert (taken is not None) == quick
    if taken is not None:
        assert taken.text == "swap 1 eth for usdc" and taken.data_dir == DEFAULT_DATA_DIR


def test_both_paths_take_the_slippage_of_the_session_in_effect(devnet, tmp_path: Path) -> None:
    """A request naming no slippage gets the policy's default, as `do` plans it: `plan` gave 50
    bps under a session whose policy says 30."""
    data_dir = attach(devnet, tmp_path / "data")
    made = run_cli("session", "new", "--policy", "dca-bot", data_dir=data_dir)
    assert made.returncode == 0, made.stderr
    quick = cli(*ARGV, cwd=tmp_path)
    typer = cli(*ARGV, cwd=tmp_path, env={"DEFI_AGENT_FORK_BLOCK": "1"})
    for answer in (quick, typer):
        assert answer.returncode == 0, answer.stderr
        assert json.loads(answer.stdout)["steps"][0]["max_slippage_bps"] == 30
    assert "tomllib" not in imported(quick.stderr)  # stored with the session: 4 ms saved
    with sqlite3.connect(data_dir / "agent.db") as db:  # as a session from before the column
        assert db.execute("UPDATE sessions SET default_slippage_bps = NULL").rowcount == 1
    older = cli(*ARGV, cwd=tmp_path)
    assert json.loads(older.stdout)["steps"][0]["max_slippage_bps"] == 30
    (tmp_path / "elsewhere").mkdir()
    fresh = cli(*ARGV, cwd=tmp_path / "elsewhere", env={"DEFI_AGENT_POLICY": "dca-bot"})
    assert json.loads(fresh.stdout)["steps"][0]["max_slippage_bps"] == 30


def test_a_fresh_data_directory_plans_without_tomllib(tmp_path: Path) -> None:
    """With no session, the default policy's slippage is the one `make setup` kept, so `plan`
    does not import tomllib (4 ms of its start-up); a policy file edited since is read again."""
    kept = subprocess.run([sys.executable, "-m", "agent.policy_defaults"], capture_output=True)
    assert kept.returncode == 0, kept.stderr
    fresh = cli(*ARGV, cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads(fresh.stdout)["steps"][0]["max_slippage_bps"] == 50
    assert "tomllib" not in imported(fresh.stderr)
    edited = tmp_path / "edited.toml"
    edited.write_text(DEFAULT_POLICY.read_text().replace("default_bps = 50", "default_bps = 20"))
    answer = cli(*ARGV, cwd=tmp_path, env={"DEFI_AGENT_POLICY": str(edited)})
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["steps"][0]["max_slippage_bps"] == 20
