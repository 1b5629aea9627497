"""`defi-agent mcp` as a subprocess, driven by the MCP SDK's own client over stdio, on the real
devnet."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import run_cli
from tests.strategies.kit import ROOT, attach
from tools.erc20.reads import balance, token


def serve(data_dir: Path, *flags: str) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEFI_AGENT_")}
    env["DEFI_AGENT_DATA_DIR"] = str(data_dir)
    return StdioServerParameters(
        command=sys.executable, args=["-m", "agent", "mcp", *flags], env=env, cwd=str(ROOT)
    )


def session_with(params: StdioServerParameters, body: Callable[[Client], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with Client(params, read_timeout_seconds=60) as client:
            return await body(client)

    return asyncio.run(main())


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return result.structured_content.get("result", result.structured_content)


async def error_of(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    return json.loads(result.content[0].text)["error"]


def test_read_tools_and_a_plan_simulated_but_not_executed(devnet, tmp_path: Path) -> None:
    data_dir = attach(devnet, tmp_path / "data")
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)

    async def body(client: Client) -> dict[str, Any]:
        listed = await client.list_tools()
        names = {t.name for t in listed.tools}
        portfolio = await call(client, "portfolio")
        quote = await call(client, "quote", token_in="ETH", token_out="USDC", amount="1")
        wrapped = await error_of(client, "quote", token_in="ETH", token_out="WETH", amount="1")
        itself = await error_of(client, "quote", token_in="dai", token_out="DAI", amount="1")
        missing = await error_of(client, "quote", token_in="ETH", token_out="USDC")
        nosuch = await error_of(client, "nosuchtool")
        finer = await error_of(
            client, "quote", token_in="USDC", token_out="DAI", amount="0.0000001"
        )
        huge = await error_of(client, "quote", token_in="ETH", token_out="USDC", amount="9" * 5000)
        unheard = await error_of(client, "quote", token_in="X" * 5000, token_out="USDC", amount="1")
        markets = await call(client, "markets")
        planned = await call(client, "plan", text="swap 1 ETH for USDC")
        simulated = await call(client, "simulate", plan_id=planned["plan_id"])
        refused = await error_of(client, "execute", plan_id=planned["plan_id"])
        schema = await client.read_resource("defi-agent://plan-schema")
        return locals()

    seen = session_with(serve(data_dir), body)

    assert {
        "portfolio",
        "quote",
        "markets",
        "session",
        "journal",
        "plan",
        "simulate",
        "execute",
    } <= seen["names"]
    holdings = {h["symbol"]: Decimal(h["amount"]) for h in seen["portfolio"]["holdings"]}
    assert holdings["USDC"] == Decimal(50_000)
    assert Decimal(2900) < Decimal(seen["quote"]["amount_out"]) < Decimal(3000)
    assert (
        seen["wrapped"]["code"] == "unsupported" and "wrap or unwrap" in seen["wrapped"]["message"]
    )
    assert (seen["missing"]["code"], seen["missing"]["message"]) == (
        "invalid_input",
        "quote: amount: Field required",
    )
    assert seen["nosuch"]["message"] == "no tool 'nosuchtool'"
    assert seen["itself"]["message"] == "cannot swap DAI into itself"  # not "no route"
    assert "0.0000001 USDC is finer than the token's 6 decimals" in seen["finer"]["message"]
    assert seen["huge"]["code"] == "invalid_amount"  # QA: the 5,000 digits came back in full
    assert seen["huge"]["message"].endswith("… (5,000 characters) is not a plausible amount")
    assert seen["unheard"]["code"] == "unknown_token" and len(seen["unheard"]["message"]) < 100
    assert {m["symbol"] for m in seen["markets"]} == {"WETH", "WBTC", "USDC", "DAI"}
    assert seen["planned"]["steps"][0]["token_out"] == "USDC"
    step = seen["simulated"]["steps"][0]
    assert Decimal(2900) < Decimal(step["balance_changes"]["USDC"]) < Decimal(3000)
    assert seen["simulated"]["policy"]["allowed"]
    assert seen["refused"]["code"] == "execution_disabled"
    assert "--allow-execute" in seen["refused"]["hint"]
    assert "steps" in json.loads(seen["schema"].contents[0].text)["properties"]
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce


def test_execute_with_the_flag_changes_balances_as_simulated(devnet, tmp_path: Path) -> None:
    data_dir = attach(devnet, tmp_path / "data")
    w3, wallet = devnet.w3, devnet.wallet
    usdc = token(w3, devnet.book, "USDC")
    before = balance(w3, usdc, wallet)

    async def body(client: Client) -> dict[str, Any]:
        planned = await call(client, "plan", text="swap 1 ETH for USDC")
        simulated = await call(client, "simulate", plan_id=planned["plan_id"])
        executed = await call(client, "execute", plan_id=planned["plan_id"])
        again = await error_of(client, "execute", plan_id=planned["plan_id"])
        resimulated = await error_of(client, "simulate", plan_id=planned["plan_id"])
        journal = await call(client, "journal")
        session = await call(client, "session")
        return locals()

    seen = session_with(serve(data_dir, "--allow-execute"), body)

    expected = Decimal(seen["simulated"]["steps"][0]["balance_changes"]["USDC"])
    gained = usdc.to_units(balance(w3, usdc, wallet) - before)
    assert abs(gained - expected) <= expected * Decimal("0.005")
    assert Decimal(seen["executed"]["balance_changes"]["USDC"]) == gained
    assert all(t["success"] for t in seen["executed"]["transactions"])
    assert seen["again"]["code"] == "already_executed"  # executed once, never twice
    # not even by simulating it again first, as an assistant retrying after a lost reply would
    assert seen["resimulated"]["code"] == "already_executed"
    assert seen["journal"][0]["status"] == "done"
    assert seen["journal"][0]["id"] == seen["executed"]["journal_id"]
    assert seen["simulated"]["journal_id"] == seen["executed"]["journal_id"]
    # the execution started the default session and counts against its day
    assert (seen["session"]["state"], seen["session"]["policy"]) == ("active", "default")
    (day,) = seen["session"]["windows"]
    assert day["window"] == "per 24h" and Decimal(2990) < Decimal(day["used_usd"]) <= 3010


def test_denied_plan_and_malformed_plan_keep_the_server_up(devnet, tmp_path: Path) -> None:
    data_dir = attach(devnet, tmp_path / "data")
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
    too_big = {
        "intent": "swap 3 ETH for USDC",
        "summary": "Swap 3 ETH for USDC on Uniswap V3",
        "risk": "low",
        "steps": [
            {
                "action": "swap",
                "protocol": "uniswap-v3",
                "token_in": "ETH",
                "token_out": "USDC",
                "amount": "3",
                "amount_kind": "exact_in",
                "max_slippage_bps": 50,
            }
        ],
    }
    malformed = {**too_big, "steps": [{**too_big["steps"][0], "amount": "0x1bc16d674ec80000"}]}
    # no coercion: true is not a slippage, nor Arabic-Indic digits an amount
    loose = {**too_big, "steps": [{**too_big["steps"][0], "max_slippage_bps": True}]}
    digits = {**too_big, "steps": [{**too_big["steps"][0], "amount": "\u0663"}]}
    # QA: what a client says its plan does was journaled as the plan's intent
    lying = {**too_big, "intent": "check my balance", "summary": "Only reads, sends nothing"}
    bare = {"steps": too_big["steps"]}  # QA: the server writes them, yet they were required

    async def body(client: Client) -> dict[str, Any]:
        planned = await call(client, "plan", plan=too_big)
        simulated = await call(client, "simulate", plan_id=planned["plan_id"])
        denied = await error_of(client, "execute", plan_id=planned["plan_id"])
        twice = await asyncio.gather(
            *(client.call_tool("simulate", {"plan_id": planned["plan_id"]}) for _ in range(2))
        )
        bad = await error_of(client, "plan", plan=malformed)
        not_bps = await error_of(client, "plan", plan=loose)
        not_digits = await error_of(client, "plan", plan=digits)
        neither = await error_of(client, "plan")
        huge = await error_of(client, "journal", limit=10**30)
        negative = await error_of(client, "journal", limit=-1)
        unknown = await error_of(client, "plan", text="swap 1 ETH for DOGE")
        question = await error_of(client, "plan", text="what's my health factor?")
        unaffordable = await call(client, "plan", text="swap 1000000 ETH for USDC")
        short = await error_of(client, "simulate", plan_id=unaffordable["plan_id"])
        still = await call(client, "session")
        liar = await call(client, "plan", plan=lying)
        steps_only = await call(client, "plan", plan=bare)
        await call(client, "simulate", plan_id=liar["plan_id"])
        return locals()

    seen = session_with(serve(data_dir, "--allow-execute"), body)

    assert seen["liar"]["summary"] == "Swap 3 ETH for USDC on Uniswap V3"
    assert seen["steps_only"]["summary"] == "Swap 3 ETH for USDC on Uniswap V3"
    assert seen["steps_only"]["risk"] == seen["liar"]["risk"]
    journaled = json.loads(run_cli("journal", "--json", data_dir=data_dir).stdout)
    assert journaled[0]["intent"] == "typed plan: Swap 3 ETH for USDC on Uniswap V3"

    policy = seen["simulated"]["policy"]
    assert not policy["allowed"]
    assert any(v["rule"] == "spend.per_tx" and not v["allowed"] for v in policy["verdicts"])
    # executing it says why the policy refused it (it said "call simulate first")
    assert seen["denied"]["code"] == "policy_denied"
    assert "above the 5,000.00 USD cap" in seen["denied"]["message"]
    # one simulation of a plan at a time: the other call is told to wait
    assert sorted(r.is_error for r in seen["twice"]) == [False, True]
    busy = next(r for r in seen["twice"] if r.is_error)
    assert json.loads(busy.content[0].text)["error"]["code"] == "plan_busy"
    assert seen["neither"]["message"] == "give text (plain words) or plan (a typed plan)"
    assert "limit" in seen["huge"]["message"] and "limit" in seen["negative"]["message"]
    assert seen["bad"]["code"] == "invalid_plan"
    assert "steps.0.swap.amount" in seen["bad"]["message"]
    assert seen["not_bps"]["code"] == seen["not_digits"]["code"] == "invalid_plan"
    assert "steps.0.swap.max_slippage_bps" in seen["not_bps"]["message"]
    assert "steps.0.swap.amount" in seen["not_digits"]["message"]
    assert seen["unknown"]["code"] == "unknown_token"
    assert "a question is answered by the portfolio, quote, markets" in seen["question"]["message"]
    # a simulation that fails is a tool error, not a result with an error inside
    assert seen["short"]["code"] == "insufficient_balance"
    assert "1000000 ETH" in seen["short"]["message"]
    # nothing was executed: the default session has not started, its allowance is whole
    assert (seen["still"]["state"], seen["still"]["policy"]) == ("not started", "default")
    assert seen["still"]["windows"] == [
        {"window": "per 24h", "used_usd": "0", "limit_usd": "10000", "left_usd": "10000"}
    ]
    assert seen["still"]["max_usd_per_tx"] == "5000"
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce


def test_plan_above_the_confirmation_threshold_is_refused(devnet, tmp_path: Path) -> None:
    """cautious-borrower wants a human for anything above 1,000 USD; an assistant is not one."""
    data_dir = attach(devnet, tmp_path / "data")
    policy = ROOT / "policies" / "examples" / "cautious-borrower.toml"
    created = run_cli("session", "new", "--policy", str(policy), data_dir=data_dir)
    assert created.returncode == 0, created.stderr
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)

    async def body(client: Client) -> dict[str, Any]:
        planned = await call(client, "plan", text="swap 0.5 ETH for USDC")
        simulated = await call(client, "simulate", plan_id=planned["plan_id"])
        refused = await error_of(client, "execute", plan_id=planned["plan_id"])
        again = await error_of(client, "execute", plan_id=planned["plan_id"])
        return locals()

    seen = session_with(serve(data_dir, "--allow-execute"), body)

    assert seen["simulated"]["policy"]["needs_confirmation"]
    assert seen["refused"]["code"] == "needs_confirmation"
    assert seen["again"] == seen["refused"]  # it said "call simulate first"
    assert "human" in seen["refused"]["message"]
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce


def test_a_line_that_is_not_json_rpc_is_answered_and_the_server_stays_up(
    devnet, tmp_path: Path
) -> None:
    """JSON-RPC 2.0 answers what it cannot read with an error of id null; the SDK dropped the
    line, and a client waited for an answer that never came (QA)."""
    params = serve(attach(devnet, tmp_path / "data"))
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    lines = ["this is not json", json.dumps({"jsonrpc": "1.0", "id": 7}), json.dumps(initialize)]
    served = subprocess.run(
        [params.command, *params.args],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        env=params.env,
        cwd=params.cwd,
        timeout=60,
    )
    parse, invalid, initialized = (json.loads(line) for line in served.stdout.splitlines())
    assert parse == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "Parse error: the line is not JSON"},
    }
    assert invalid["id"] is None and invalid["error"]["code"] == -32600
    assert initialized["id"] == 1 and initialized["result"]["serverInfo"]["name"] == "defi-agent"
