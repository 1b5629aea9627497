"""`defi-agent plan` as a user runs it: the real CLI in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_plan_json_is_the_design_document(tmp_path: Path) -> None:
    result = run_cli(
        "plan", "swap 0.1 WBTC to USDC then supply it to aave", "--json", data_dir=tmp_path / "d"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "intent": "swap 0.1 WBTC to USDC then supply it to aave",
        "summary": "Swap 0.1 WBTC for USDC on Uniswap V3, then supply the USDC to Aave V3",
        "risk": "low",
        "steps": [
            {
                "action": "swap",
                "protocol": "uniswap-v3",
                "token_in": "WBTC",
                "token_out": "USDC",
                "amount": "0.1",
                "amount_kind": "exact_in",
                "max_slippage_bps": 50,
            },
            {"action": "supply", "protocol": "aave-v3", "token": "USDC", "amount": "output:1"},
        ],
    }


def test_errors_are_json_with_exit_2(tmp_path: Path) -> None:
    result = run_cli("plan", "swap eth for usdc", "--json", data_dir=tmp_path / "d")
    assert result.returncode == 2
    assert json.loads(result.stdout) == {
        "error": {"code": "needs_clarification", "message": "How much ETH do you want to swap?"}
    }
    unknown = json.loads(
        run_cli("plan", "swap 1 sol for usdc", "--json", data_dir=tmp_path / "d").stdout
    )
    assert unknown["error"]["code"] == "unknown_token"


def test_human_output_shows_the_steps(tmp_path: Path) -> None:
    result = run_cli("plan", "buy 1 eth with usdc", data_dir=tmp_path / "d")
    assert result.returncode == 0
    assert "Buy 1 ETH with USDC on Uniswap V3" in result.stdout
    assert "exact out" in result.stdout


def test_schema(tmp_path: Path) -> None:
    schema = json.loads(run_cli("plan", "--schema", data_dir=tmp_path / "d").stdout)
    assert set(schema["properties"]) == {"intent", "summary", "risk", "steps"}
    assert "discriminator" in json.dumps(schema)


def test_missing_llm_provider_names_the_extra(tmp_path: Path) -> None:
    result = run_cli(
        "plan",
        "swap 1 eth for usdc",
        "--model",
        "ollama:qwen2.5",
        "--json",
        data_dir=tmp_path / "d",
    )
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["hint"] == "pip install -e '.[ollama]'"
