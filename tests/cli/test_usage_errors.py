"""A command line the CLI cannot take is bad input: exit code 2 and the reason, never an internal
error (typer now raises usage errors from a click of its own)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from tests.strategies.kit import attach

DEFAULT = str(ROOT / "policies" / "default.toml")
BINARY = Path(__file__).with_name("not-utf8.toml")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("nosuchcmd",), "No such command 'nosuchcmd'"),
        (("session", "new", "--name"), "Option '--name' requires an argument"),
        (("chain", "warp", "-5d"), "the chain's clock only moves forward: '-5d'"),
        (("do", "swap 1 ETH for USDC", "--yes", "--fast"), "No such option: --fast"),
        (("session", "new", "--policy", DEFAULT, "--ttl", "forever"), "invalid ttl: 'forever'"),
        (("session", "new", "--ttl", ""), "invalid ttl: '' is not a duration"),
        (("session", "new", "--ttl", "400d"), "400d is longer than a session may live"),
        (("session", "new", "--policy", "dca-bott"), "no policy file 'dca-bott'"),
        (  # QA: "one of the policies under policies/", where only default.toml is
            ("session", "new", "--policy", "yolo"),
            "(give a path, or a shipped policy's name: default, cautious-borrower, dca-bot, "
            "yield-only)",
        ),
        (("session", "new", "--name", "a\nb"), "--name 'a\\nb': a name is one line of printable"),
        (("session", "new", "--name", "x\x1b[31m"), "a name is one line of printable text"),
        (("do", "swap 1 ETH for USDC", "--yes", "--dry-run"), "give one of them"),
        (("journal", "--limit", "0"), "Input should be greater than or equal to 1"),
        (("journal", "--limit", "9" * 20), "Input should be less than or equal to 1000000"),
        (("session", "new", "--policy", str(BINARY)), "is not UTF-8 text (byte 0xff at offset 0)"),
        # QA: read until memory ran out
        (("strategies", "validate", "/dev/zero"), "strategy file /dev/zero is larger than 1 MB"),
        (
            ("run", "dca-bot"),  # a policy's name, not a strategy's
            "cannot read strategy file dca-bot: No such file or directory (give a path, or a "
            "shipped strategy's name: dca-eth, deleverage-guard, take-profit, usdc-yield)",
        ),
        (
            ("run", "/dev/zero"),
            "strategy file /dev/zero is larger than 1 MB, which no strategy file is",
        ),
    ],
)
def test_bad_command_lines_exit_2_with_the_reason(
    devnet, tmp_path: Path, args: tuple[str, ...], reason: str
) -> None:
    result = run_cli(*args, data_dir=attach(devnet, tmp_path / "data"))
    assert result.returncode == 2, result.stderr
    assert reason in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [("journal", "--json"), ("portfolio", "--json")])
def test_a_data_directory_that_is_a_file_is_a_configuration_error(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Exit 2 naming DEFI_AGENT_DATA_DIR, as JSON with --json (it was an internal error, after
    "building the devnet")."""
    data_dir = tmp_path / "a-file"
    data_dir.write_text("")

    result = run_cli(*command, data_dir=data_dir)

    assert result.returncode == 2, result.stderr
    assert result.stdout.startswith('{"error": {"code": "invalid_config"')
    assert f"DEFI_AGENT_DATA_DIR: {data_dir} is not a directory" in result.stdout
    assert "building the devnet" not in result.stderr


@pytest.mark.parametrize("policy", ["/nonexistent.toml", "no-such-policy"])
def test_a_policy_setting_naming_no_file_is_a_configuration_error(
    tmp_path: Path, policy: str
) -> None:
    """It was an internal error (FileNotFoundError), with nothing on stdout under --json."""
    result = run_cli(
        "do",
        "swap 0.01 ETH to USDC",
        "--dry-run",
        "--json",
        data_dir=tmp_path / "data",
        env={"DEFI_AGENT_POLICY": policy},
    )
    assert result.returncode == 2, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "invalid_config"
    assert error["message"].startswith(f"DEFI_AGENT_POLICY: no policy file '{policy}'")


def test_a_usage_error_with_json_is_a_json_error_on_stdout(devnet, tmp_path: Path) -> None:
    result = run_cli("journal", "--limit", "abc", "--json", data_dir=attach(devnet, tmp_path / "d"))

    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "invalid_input"
    assert "Invalid value for '--limit'" in error["message"]
    assert "journal [OPTIONS]" in result.stderr
