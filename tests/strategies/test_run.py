"""`defi-agent run` on the real devnet: every shipped example to completion, with blocks mined and
the oracle moved by the test to trigger the guards; denial, interruption and dry runs."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from agent.datadir import DB_NAME
from tests.conftest import ROOT, run_cli
from tests.execution.conftest import run
from tests.proxy import ChainProxy
from tests.strategies.kit import (
    EXAMPLES,
    Miner,
    attach,
    buy_eth_on_the_pool,
    events_of,
    named,
    refusal,
    set_oracle_price,
    start_run,
)
from tools.aave_v3.reads import account
from tools.erc20.reads import balance, token


def _finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, list, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, events_of(out), err


def _run_file(
    devnet, tmp_path: Path, name: str, text: str, *flags: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`run --json` of a strategy file written with ``text``, and the data directory it used."""
    data_dir = attach(devnet, tmp_path / "data")
    path = tmp_path / name
    path.write_text(text)
    return run_cli("run", str(path), *flags, "--json", data_dir=data_dir), data_dir


def _waiting(path: Path, data_dir: Path) -> subprocess.Popen[str]:
    """The run of ``path``, once it waits for blocks (none are mined: it waits after its first
    iteration)."""
    process = start_run(str(path), data_dir=data_dir)
    assert process.stdout is not None
    for line in process.stdout:
        if json.loads(line).get("event") == "Waiting":
            break
    return process


def _stopped_while_waiting(
    path: Path, data_dir: Path, stop: signal.Signals
) -> tuple[int, list, str]:
    """The run of ``path``, sent ``stop`` once it waits for blocks."""
    process = _waiting(path, data_dir)
    process.send_signal(stop)
    return _finish(process)


def test_usdc_yield_swaps_and_supplies(devnet, tmp_path: Path) -> None:
    data_dir = attach(devnet, tmp_path / "data")
    w3, wallet = devnet.w3, devnet.wallet
    eth_before = w3.eth.get_balance(wallet)

    result = run_cli("run", str(EXAMPLES / "usdc-yield.yaml"), "--json", data_dir=data_dir)

    assert result.returncode == 0, result.stderr
    events = events_of(result.stdout)
    assert named(events, "StrategyDone")[-1]["status"] == "done"
    assert len(named(events, "TxConfirmed")) == 3  # swap, exact approval, supply
    supplied = next(p for p in account(w3, devnet.book, wallet).positions if p.symbol == "USDC")
    simulated = Decimal(named(events, "StepSimulated")[0]["deltas"]["USDC"])
    assert abs(supplied.supplied - simulated) < Decimal("0.01")
    assert Decimal(1) < Decimal(eth_before - w3.eth.get_balance(wallet)) / 10**18 < Decimal("1.01")


def test_a_run_says_what_each_plan_moves_on_aave(devnet, tmp_path: Path) -> None:
    """A plan's line said only what it did to the wallet: "swap 1 ETH to USDC then supply it"
    "would have made -1.000434 ETH", as if the USDC had vanished; `do` and the chat say both."""
    data_dir = attach(devnet, tmp_path / "data")
    wide = {"COLUMNS": "200"}
    path = str(EXAMPLES / "usdc-yield.yaml")

    dry = run_cli("run", path, "--dry-run", data_dir=data_dir, env=wide)
    ran = run_cli("run", path, data_dir=data_dir, env=wide)

    for result, said in ((dry, "dry run, nothing sent; it would have made: "), (ran, "done: ")):
        assert result.returncode == 0, result.stdout + result.stderr
        line = next(line for line in result.stdout.splitlines() if line.startswith(said))
        assert " ETH; on Aave: 2,9" in line and line.endswith(" USDC supplied"), line


def test_dca_buys_five_times_blocks_apart(devnet, tmp_path: Path) -> None:
    data_dir = attach(devnet, tmp_path / "data")
    w3 = devnet.w3
    spent = _usdc_spent(devnet)

    with Miner(devnet.url):
        code, events, err = _finish(start_run(str(EXAMPLES / "dca-eth.yaml"), data_dir=data_dir))

    assert code == 0, err
    assert named(events, "StrategyDone")[-1]["iterations"] == 5
    assert spent() == Decimal(500)
    swaps = [e for e in named(events, "TxSent") if e["label"].startswith("swap")]
    blocks = [w3.eth.get_transaction_receipt(e["tx_hash"])["blockNumber"] for e in swaps]
    assert len(blocks) == 5
    assert all(b - a >= 5 for a, b in pairwise(blocks)), blocks
    assert len(named(events, "Waiting")) == 4


def test_deleverage_guard_waits_for_the_drop_then_repays_to_two(
    devnet, tmp_path: Path, roomy
) -> None:
    w3, wallet = devnet.w3, devnet.wallet
    for request in ("supply 2 ETH to aave", "borrow 3000 DAI from aave"):
        assert run(roomy, request)[-1].status == "done"
    assert Decimal("1.6") < account(w3, devnet.book, wallet).health_factor < Decimal(2)
    data_dir = attach(devnet, tmp_path / "data")

    with Miner(devnet.url, interval=0.2):
        process = start_run(str(EXAMPLES / "deleverage-guard.yaml"), data_dir=data_dir)
        first = json.loads(process.stdout.readline())
        assert first["event"] == "StrategyStarted"
        assert json.loads(process.stdout.readline())["event"] == "Waiting"
        debt_before = account(w3, devnet.book, wallet).debt_usd
        set_oracle_price(devnet, "WETH", Decimal(2700))
        assert account(w3, devnet.book, wallet).health_factor < Decimal("1.6")
        code, events, err = _finish(process)

    assert code == 0, err
    health = account(w3, devnet.book, wallet).health_factor
    assert health >= Decimal(2)
    repays = [e for e in named(events, "TxSent") if e["label"].startswith("repay")]
    assert len(repays) == 2  # 3,000 -> 2,500 (HF ~1.8) -> 2,000 (HF ~2.2)
    assert debt_before - account(w3, devnet.book, wallet).debt_usd > Decimal(999)


def test_take_profit_sells_once_the_price_is_above_the_level(devnet, tmp_path: Path) -> None:
    data_dir = attach(devnet, tmp_path / "data")
    w3, wallet = devnet.w3, devnet.wallet
    usdc = token(w3, devnet.book, "USDC")
    usdc_before = balance(w3, usdc, wallet)

    process = start_run(str(EXAMPLES / "take-profit.yaml"), data_dir=data_dir)
    assert json.loads(process.stdout.readline())["event"] == "StrategyStarted"
    assert json.loads(process.stdout.readline())["event"] == "Waiting"
    assert balance(w3, usdc, wallet) == usdc_before  # still waiting: nothing sold
    buy_eth_on_the_pool(devnet, 3_000_000)  # the market rallies ...
    assert balance(w3, usdc, wallet) == usdc_before  # ... the oracle has not moved yet: waiting
    set_oracle_price(devnet, "WETH", Decimal(3400))  # ... then the oracle catches up
    code, events, err = _finish(process)

    assert code == 0, err
    assert named(events, "StrategyDone")[-1]["status"] == "done"
    outcome = named(events, "RunDone")[-1]["deltas"]
    gained = usdc.to_units(balance(w3, usdc, wallet) - usdc_before)
    assert Decimal(outcome["USDC"]) == gained
    sold = -Decimal(outcome["ETH"])
    assert Decimal("0.99") < sold < Decimal("1.01")  # 1 % of the wallet's 100 ETH
    assert gained / sold > Decimal(3100)  # sold at the rallied pool price, not the old 3,000


DENIED = """\
name: too-big
session: {policy: dca-bot, ttl: 1d}
steps:
  - intent: swap 100 USDC for ETH
  - intent: swap 250 USDC for ETH
  - intent: swap 50 USDC for ETH
"""


def test_a_denied_step_stops_the_run_with_exit_3(devnet, tmp_path: Path) -> None:
    data_dir = attach(devnet, tmp_path / "data")
    path = tmp_path / "too-big.yaml"
    path.write_text(DENIED)
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)

    result = run_cli("run", str(path), "--json", data_dir=data_dir)

    assert result.returncode == 3, result.stderr
    events = events_of(result.stdout)
    assert [e["entry"] for e in named(events, "EntryStarted")] == [1, 2]
    decision = named(events, "PolicyDecision")[-1]
    assert not decision["allowed"]
    assert any(v["rule"] == "spend.per_tx" and not v["allowed"] for v in decision["verdicts"])
    assert named(events, "StrategyDone")[-1]["status"] == "denied"
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce + 2  # entry 1 only


def test_a_dry_run_decides_under_the_strategys_own_policy_and_starts_nothing(
    devnet, tmp_path: Path
) -> None:
    """The dry run of a strategy naming dca-bot is denied where its run would be (250 USD is
    above dca-bot's cap, within the default's), and starts no session."""
    result, data_dir = _run_file(devnet, tmp_path, "too-big.yaml", DENIED, "--dry-run")

    assert result.returncode == 3, result.stderr
    events = events_of(result.stdout)
    assert named(events, "StrategyStarted")[0]["session"] == "dca-bot (not started)"
    decisions = named(events, "PolicyDecision")
    assert [d["allowed"] for d in decisions] == [True, False]
    assert all(d["session"] == "dca-bot (not started)" for d in decisions)
    assert json.loads(run_cli("session", "list", "--json", data_dir=data_dir).stdout) == []


UNSAID_SLIPPAGE = """\
name: two-buys
session: {policy: dca-bot, ttl: 1d}
steps:
  - {action: swap, token_in: USDC, token_out: ETH, amount: "40"}
  - {action: swap, token_in: USDC, token_out: ETH, amount: "40", max_slippage_bps: 20}
"""


def test_a_typed_swap_without_slippage_gets_the_sessions_default(devnet, tmp_path: Path) -> None:
    """dca-bot's default slippage is 30 bps: the swap that names none is planned and executed at
    30, the one that names 20 at 20."""
    result, data_dir = _run_file(devnet, tmp_path, "two-buys.yaml", UNSAID_SLIPPAGE)

    path = tmp_path / "two-buys.yaml"
    assert run_cli("strategies", "validate", str(path), data_dir=data_dir).returncode == 0

    assert result.returncode == 0, result.stderr
    events = events_of(result.stdout)
    planned = [e["plan"]["steps"][0]["max_slippage_bps"] for e in named(events, "PlanProposed")]
    assert planned == [30, 20]
    bounds = [
        v["message"]
        for d in named(events, "PolicyDecision")
        for v in d["verdicts"]
        if v["rule"] == "slippage.max"
    ]
    assert bounds == ["slippage at most 30 bps (limit 50)", "slippage at most 20 bps (limit 50)"]
    assert [d["status"] for d in named(events, "RunDone")] == ["done", "done"]


WRAP_THEN_SUPPLY = """\
name: wrap-and-supply
steps:
  - {action: wrap, amount: "1"}
  - {action: supply, protocol: aave-v3, token: WETH, amount: output:1}
  - intent: withdraw 0.4 weth from aave
  - {intent: swap 1 USDC for DAI, when: price(ETH) > 1000000}
"""


def test_a_dry_run_simulates_each_entry_after_the_ones_before(devnet, tmp_path: Path) -> None:
    """The wallet holds no WETH: the supply can only be simulated after the wrap, and the
    withdrawal only after the supply."""
    assert balance(devnet.w3, token(devnet.w3, devnet.book, "WETH"), devnet.wallet) == 0

    result, data_dir = _run_file(
        devnet, tmp_path, "wrap-and-supply.yaml", WRAP_THEN_SUPPLY, "--dry-run"
    )

    assert result.returncode == 0, result.stderr
    events = events_of(result.stdout)
    done = named(events, "RunDone")
    assert [d["status"] for d in done] == ["dry_run"] * 3
    assert [Decimal(d["deltas"]["WETH"]) for d in done] == [1, -1, Decimal("0.4")]
    journal = json.loads(run_cli("journal", "--json", data_dir=data_dir).stdout)
    assert sorted(p["status"] for p in journal) == ["dry_run"] * 3
    assert named(events, "StrategyDone")[-1]["message"] == (  # QA: "nothing was sent" alone
        "3 entries simulated, each on top of those before it, 1 skipped; nothing was sent"
    )


EIGHTY_SIX_USD_SIX_TIMES = (
    """\
name: six-buys
session: {policy: dca-bot, ttl: 1d}
steps:
"""
    + '  - {action: swap, token_in: USDC, token_out: ETH, amount: "86"}\n' * 6
)


def test_a_dry_run_counts_each_entry_against_the_allowance_of_the_next(
    devnet, tmp_path: Path
) -> None:
    """dca-bot allows 500 USD a week: five buys of 86 USD fit (430), the sixth (516) does not,
    as in the run itself."""
    result, _ = _run_file(devnet, tmp_path, "six-buys.yaml", EIGHTY_SIX_USD_SIX_TIMES, "--dry-run")

    assert result.returncode == 3, result.stderr
    events = events_of(result.stdout)
    assert [d["allowed"] for d in named(events, "PolicyDecision")] == [True] * 5 + [False]
    assert "would exceed" in named(events, "StrategyDone")[-1]["message"]


def test_a_strategy_session_authorises_its_run_alone(devnet, tmp_path: Path) -> None:
    """The dca-bot session a run creates is the run's: the user's next request is decided under
    the default session, and does not spend the bot's allowance."""
    data_dir = attach(devnet, tmp_path / "data")
    path = tmp_path / "too-big.yaml"
    path.write_text(DENIED)
    assert run_cli("run", str(path), "--json", data_dir=data_dir).returncode == 3

    listed = json.loads(run_cli("session", "list", "--json", data_dir=data_dir).stdout)
    (bots,) = [s for s in listed if s["strategy"] is not None]
    assert bots["policy"] == "dca-bot" and bots["strategy"] == str(path)
    result = run_cli("do", "swap 1000 USDC for ETH", "--yes", "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr  # above dca-bot's 100 USD cap, within default's
    decision = named(events_of(result.stdout), "PolicyDecision")[-1]
    assert decision["session"].startswith("default ")
    shown = json.loads(run_cli("session", "show", bots["id"], "--json", data_dir=data_dir).stdout)
    assert shown["spent_usd"] == "100.00"  # the run's first entry, nothing of the user's


def test_malformed_file_names_the_line(devnet, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "name: broken\nsteps:\n  - intent: swap 1 ETH for USDC\nrepeat:\n  every: soon\n"
    )

    for args in (("strategies", "validate", str(path)), ("run", str(path))):
        result = run_cli(*args, data_dir=tmp_path / "data")
        assert result.returncode == 2
        assert f"{path}:5: repeat.every: 'soon' is not an interval" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_file_that_is_not_utf8_is_a_configuration_error(tmp_path: Path) -> None:
    """It was an internal error (exit 1), with nothing on stdout under --json."""
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"name: caf\xe9\nsteps:\n  - intent: swap 1 eth to usdc\n")
    result = run_cli("run", str(path), "--json", data_dir=tmp_path / "data")
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "invalid_config"
    assert error["message"] == f"strategy file {path} is not UTF-8 text (byte 0xe9 at offset 9)"


def test_validate_checks_the_policy_a_strategy_names(devnet, tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("name: typo\nsession: {policy: dca-bott}\nsteps:\n  - intent: swap 1 eth\n")

    result = run_cli("strategies", "validate", str(path), data_dir=tmp_path / "data")

    assert result.returncode == 2
    assert f"{path}:2: session.policy: no policy file 'dca-bott'" in result.stderr  # QA: no line
    assert "Traceback" not in result.stderr
    ran = run_cli("run", str(path), data_dir=tmp_path / "data")
    assert ran.returncode == 2 and f"{path}:2: session.policy:" in ran.stderr, ran.stderr


INTERRUPTIBLE = """\
name: three-buys
session: {policy: dca-bot, ttl: 1d}
steps:
  - action: swap
    protocol: uniswap-v3
    token_in: USDC
    token_out: ETH
    amount: "50"
    amount_kind: exact_in
    max_slippage_bps: 30
repeat: {every: 3 blocks, count: 3}
"""


def _three_buys(devnet, tmp_path: Path) -> tuple[Path, Path]:
    """A data directory on the devnet, and the strategy file `INTERRUPTIBLE` in it."""
    path = tmp_path / "three-buys.yaml"
    path.write_text(INTERRUPTIBLE)
    return attach(devnet, tmp_path / "data"), path


def _usdc_spent(devnet) -> Callable[[], Decimal]:
    """How much USDC the wallet has spent since this was called."""
    usdc = token(devnet.w3, devnet.book, "USDC")
    before = balance(devnet.w3, usdc, devnet.wallet)
    return lambda: usdc.to_units(before - balance(devnet.w3, usdc, devnet.wallet))


def test_interrupted_run_resumes_without_repeating_steps(devnet, tmp_path: Path) -> None:
    data_dir, path = _three_buys(devnet, tmp_path)
    spent = _usdc_spent(devnet)

    code, events, err = _stopped_while_waiting(path, data_dir, signal.SIGINT)
    assert code == 130
    assert named(events, "StrategyDone")[-1]["status"] == "interrupted"
    assert "stopping: nothing is in flight" in err  # QA: "after the step in flight", waiting
    assert spent() == Decimal(50)

    with Miner(devnet.url):
        code, events, err = _finish(start_run(str(path), data_dir=data_dir))

    assert code == 0, err
    started = named(events, "StrategyStarted")[0]
    assert started["resumed"] and started["iteration"] == 1
    assert spent() == Decimal(150)
    listed = json.loads(run_cli("strategies", "list", "--json", data_dir=data_dir).stdout)
    assert [(r["name"], r["status"], r["iterations"]) for r in listed["runs"]] == [
        ("three-buys", "done", 3)
    ]


def test_an_edited_file_does_not_start_its_stopped_run_over_unasked(devnet, tmp_path: Path) -> None:
    """A run stopped after its first buy, then the file edited (a comment added): the next `run`
    started a new run from the first entry, buying again what the stopped run had bought, with
    no warning. It is refused, saying so; `--restart` starts the edited file over."""
    data_dir, path = _three_buys(devnet, tmp_path)
    spent = _usdc_spent(devnet)
    code, _events, _err = _stopped_while_waiting(path, data_dir, signal.SIGINT)
    assert code == 130
    path.write_text("# buys ETH three times\n" + INTERRUPTIBLE)

    refused = run_cli("run", str(path), "--json", data_dir=data_dir)

    assert refused.returncode == 2, refused.stderr
    message = refusal(refused.stdout)  # before the run's first event: the error document
    assert "three-buys.yaml was edited since its run" in message
    assert "(1 iteration done): the edited file would start again from its first entry" in message
    assert "`run FILE --restart`" in message
    assert spent() == Decimal(50)
    with Miner(devnet.url):
        code, events, err = _finish(start_run(str(path), "--restart", data_dir=data_dir))
    assert code == 0, err
    assert not named(events, "StrategyStarted")[0]["resumed"]
    assert spent() == Decimal(200)


def test_a_terminated_run_stops_as_for_ctrl_c(devnet, tmp_path: Path) -> None:
    """`kill` or `timeout` (SIGTERM) stops the run where Ctrl-C would: marked interrupted, so the
    next run of the file continues it."""
    data_dir = attach(devnet, tmp_path / "data")
    path = tmp_path / "three-buys.yaml"
    path.write_text(INTERRUPTIBLE)

    code, events, _err = _stopped_while_waiting(path, data_dir, signal.SIGTERM)

    assert code == 130
    assert named(events, "StrategyDone")[-1]["status"] == "interrupted"
    listed = json.loads(run_cli("strategies", "list", "--json", data_dir=data_dir).stdout)
    assert [(r["name"], r["status"]) for r in listed["runs"]] == [("three-buys", "interrupted")]


def test_a_second_ctrl_c_ends_the_json_stream_with_its_outcome(devnet, tmp_path: Path) -> None:
    """Ctrl-C twice abandons the step in flight: with --json the stream ended without a
    StrategyDone line, so a consumer could not tell how the run ended. Each answer of the chain is
    held back (a slow node), so that the step is still in flight at the second Ctrl-C."""
    data_dir = attach(devnet, tmp_path / "data")
    proxy = ChainProxy(devnet.url, delay=0.3)
    record = json.loads((data_dir / "chain.json").read_text())
    record["port"] = int(proxy.url.rsplit(":", 1)[1])
    (data_dir / "chain.json").write_text(json.dumps(record))
    path = tmp_path / "three-buys.yaml"
    path.write_text(INTERRUPTIBLE)
    process = start_run(str(path), data_dir=data_dir)
    assert process.stdout is not None
    for line in process.stdout:
        if json.loads(line).get("event") == "EntryStarted":
            break
    process.send_signal(signal.SIGINT)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)

    code, events, err = _finish(process)

    assert code == 130, err
    assert "stopping after the step in flight" in err
    assert events[-1]["event"] == "StrategyDone", events[-1]
    assert events[-1]["status"] == "interrupted" and events[-1]["exit_code"] == 130
    assert "abandoned" in events[-1]["message"]
    proxy.shutdown()


def test_an_entry_stopped_before_anything_was_signed_runs_again_from_its_request(
    devnet, tmp_path: Path
) -> None:
    """QA: a run stopped after its entry's plan was decided but before anything was signed
    (two Ctrl-Cs in a row, or a kill) failed on every next run: "plan … was never executed:
    there is nothing to resume", exit 2. The entry now runs again from its request, and the
    plan it left is recorded as discarded. Each answer of the chain is held back, so the kill
    lands between the decision and the signature."""
    data_dir, path = _three_buys(devnet, tmp_path)
    path.write_text(INTERRUPTIBLE.replace("count: 3", "count: 1"))
    proxy = ChainProxy(devnet.url, delay=0.3)
    record = json.loads((data_dir / "chain.json").read_text())
    record["port"] = int(proxy.url.rsplit(":", 1)[1])
    (data_dir / "chain.json").write_text(json.dumps(record))
    spent = _usdc_spent(devnet)
    process = start_run(str(path), data_dir=data_dir)
    assert process.stdout is not None
    for line in process.stdout:
        event = json.loads(line)
        if event.get("event") == "PolicyDecision":
            left = event["plan_id"]
            break
    time.sleep(0.15)  # the entry is marked as executing; the chain's first answer is 0.3 s off
    process.kill()
    process.communicate(timeout=30)
    assert spent() == 0

    code, events, err = _finish(start_run(str(path), data_dir=data_dir))

    assert code == 0, err
    assert named(events, "StrategyDone")[-1]["status"] == "done"
    assert not any("resuming" in e["description"] for e in named(events, "EntryStarted"))
    assert spent() == 50
    journal = json.loads(run_cli("journal", "--json", data_dir=data_dir).stdout)
    assert {row["id"]: row["status"] for row in journal}[left] == "discarded"
    proxy.shutdown()


def test_a_file_runs_in_one_process_at_a_time(devnet, tmp_path: Path) -> None:
    """A second `run` of a file whose run is alive elsewhere is refused (it would execute the same
    entries again); once that process is killed, the run shows as stopped and the next `run`
    continues it."""
    data_dir, path = _three_buys(devnet, tmp_path)
    spent = _usdc_spent(devnet)
    first = _waiting(path, data_dir)

    second = run_cli("run", str(path), "--json", data_dir=data_dir)

    assert second.returncode == 2
    assert f"is already running in process {first.pid}" in refusal(second.stdout)
    first.kill()
    first.communicate(timeout=30)
    assert spent() == Decimal(50)
    listed = json.loads(run_cli("strategies", "list", "--json", data_dir=data_dir).stdout)
    assert [(r["name"], r["status"]) for r in listed["runs"]] == [("three-buys", "stopped")]
    with Miner(devnet.url):
        code, events, err = _finish(start_run(str(path), data_dir=data_dir))
    assert code == 0, err
    assert named(events, "StrategyStarted")[0]["resumed"]
    assert spent() == Decimal(150)


def test_dry_run_changes_nothing_on_chain(devnet, tmp_path: Path) -> None:
    data_dir = attach(devnet, tmp_path / "data")
    w3, wallet = devnet.w3, devnet.wallet
    block, eth = w3.eth.block_number, w3.eth.get_balance(wallet)

    # by the name `strategies list` gives it (QA: "No such file or directory")
    result = run_cli("run", "usdc-yield", "--dry-run", "--json", data_dir=data_dir)

    assert result.returncode == 0, result.stderr
    events = events_of(result.stdout)
    assert named(events, "RunDone")[-1]["status"] == "dry_run"
    assert Decimal(named(events, "StepSimulated")[0]["deltas"]["USDC"]) > 2900
    assert not named(events, "TxSent")
    assert (w3.eth.block_number, w3.eth.get_balance(wallet)) == (block, eth)


ON_ERROR = """\
name: shaky
steps:
  - intent: withdraw 100 USDC from aave
    on_error: skip
  - intent: repay 100 DAI to aave
    on_error: retry 1
  - intent: swap 10 USDC for DAI
"""


def test_on_error_skips_or_retries_then_stops(devnet, tmp_path: Path) -> None:
    """Nothing is supplied and nothing is owed: the withdrawal is skipped, the repayment tried
    twice, and the run stops there with the repayment's exit code; the swap is never tried."""
    data_dir = attach(devnet, tmp_path / "data")
    path = tmp_path / "shaky.yaml"
    path.write_text(ON_ERROR)
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)

    result = run_cli("run", str(path), "--json", data_dir=data_dir)

    events = events_of(result.stdout)
    started = [(e["entry"], e["attempt"]) for e in named(events, "EntryStarted")]
    assert started == [(1, 1), (2, 1), (2, 2)]
    (pause,) = [e for e in named(events, "Waiting") if e["reason"] == "retry"]
    assert pause["detail"] == "1s before attempt 2"  # it was retried in the same instant
    assert events.index(pause) == events.index(named(events, "EntryStarted")[2]) - 1
    assert [e["entry"] for e in named(events, "EntrySkipped")] == [1]
    done = named(events, "StrategyDone")[-1]
    assert done["status"] == "failed"
    assert result.returncode == done["exit_code"] != 0
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce

    # QA: the dry run stopped at the first entry, which the run skips
    dry = run_cli("run", str(path), "--dry-run", "--json", data_dir=data_dir)
    rehearsed = events_of(dry.stdout)
    (skipped,) = named(rehearsed, "EntrySkipped")
    assert skipped["entry"] == 1 and skipped["reason"].endswith("(on_error: skip)"), skipped
    stopped = named(rehearsed, "StrategyDone")[-1]
    assert (stopped["status"], dry.returncode) == ("failed", done["exit_code"])
    assert stopped["message"].startswith("entry 2: ")
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce


def test_a_run_waiting_on_an_idle_devnet_mines_its_blocks(devnet, tmp_path: Path) -> None:
    """anvil mines only when a transaction comes: with nobody else sending, "every 2 blocks"
    waited forever (the shipped dca-eth example never bought a second time). A chain that has
    made no block for `DEFI_AGENT_BLOCK_SECONDS` gets one while the run waits."""
    data_dir = attach(devnet, tmp_path / "data")
    path = tmp_path / "idle.yaml"
    start = devnet.w3.eth.block_number
    path.write_text(
        "name: idle\nsession: {policy: default, ttl: 1h}\n"
        f"when: block >= {start + 2}\n"
        "steps:\n  - intent: wrap 0.01 eth\nrepeat: {every: 3 blocks, count: 2}\n"
    )
    result = run_cli(
        "run", str(path), "--json", data_dir=data_dir, env={"DEFI_AGENT_BLOCK_SECONDS": "0.2"}
    )
    assert result.returncode == 0, result.stderr
    events = events_of(result.stdout)
    assert named(events, "StrategyDone")[-1]["iterations"] == 2
    wraps = [e for e in named(events, "TxSent") if e["label"].startswith("wrap")]
    blocks = [devnet.w3.eth.get_transaction_receipt(e["tx_hash"])["blockNumber"] for e in wraps]
    assert blocks[0] >= start + 3 and blocks[1] - blocks[0] >= 3, (start, blocks)


def test_a_strategy_cannot_name_another_runs_session_or_a_superseded_one(
    devnet, tmp_path: Path
) -> None:
    """A run's own session authorises that run alone, and a session superseded by a newer one
    signs nothing more (a revocation is not undone by an older session): naming either by id
    in another file executed under it."""
    wrap = "steps:\n  - intent: wrap 0.01 eth\n"
    own, data_dir = _run_file(
        devnet, tmp_path, "own.yaml", f"name: own\nsession: {{policy: default, ttl: 1h}}\n{wrap}"
    )
    assert own.returncode == 0, own.stderr
    (theirs,) = json.loads(run_cli("session", "list", "--json", data_dir=data_dir).stdout)
    older = json.loads(run_cli("session", "new", "--json", data_dir=data_dir).stdout)
    assert run_cli("session", "new", data_dir=data_dir).returncode == 0
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)

    for session_id, reason in (
        (theirs["id"], f"is the strategy run of {tmp_path / 'own.yaml'}'s own"),
        (older["id"], "was superseded by session"),
    ):
        path = tmp_path / f"by-id-{session_id}.yaml"
        path.write_text(f"name: by-id\nsession: {{id: {session_id}}}\n{wrap}")
        result = run_cli("run", str(path), "--json", data_dir=data_dir)
        assert result.returncode == 2, result.stderr
        assert reason in refusal(result.stdout)  # QA: a lone StrategyDone, of no run
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce


def test_an_entry_finished_on_resume_hands_its_output_to_the_next(devnet, tmp_path: Path) -> None:
    """A run killed while its swap was sent, then run again: the resumed swap's output is what
    the next entry's `output:1` wraps (it was lost, and every run after failed "step 1 produced
    nothing")."""
    data_dir = attach(devnet, tmp_path / "data")
    path = tmp_path / "swap-then-wrap.yaml"
    path.write_text(
        "name: swap-then-wrap\nsteps:\n"
        "  - {action: swap, protocol: uniswap-v3, token_in: USDC, token_out: ETH, amount: '100',"
        " amount_kind: exact_in}\n"
        "  - {action: wrap, amount: 'output:1'}\n"
    )
    weth = token(devnet.w3, devnet.book, "WETH")
    weth_before = balance(devnet.w3, weth, devnet.wallet)
    process = start_run(str(path), data_dir=data_dir)
    assert process.stdout is not None
    for line in process.stdout:
        event = json.loads(line)
        if event.get("event") == "TxSent" and event["label"].startswith("swap"):
            break
    process.kill()
    process.communicate(timeout=30)

    code, events, err = _finish(start_run(str(path), data_dir=data_dir))

    assert code == 0, err
    assert named(events, "StrategyDone")[-1]["status"] == "done"
    swapped = Decimal(named(events, "RunDone")[0]["deltas"]["ETH"])
    wrapped = weth.to_units(balance(devnet.w3, weth, devnet.wallet) - weth_before)
    assert Decimal("0.03") < wrapped == swapped < Decimal("0.034")  # 100 USDC at ~3,000


def test_a_plan_above_the_confirmation_threshold_is_named_in_the_dry_run_and_refused(
    devnet, tmp_path: Path
) -> None:
    """The dry run said only "all policy rules pass", and the run's refusal advised confirming
    in the chat, where the run's own session never authorises anything. QA: the dry run then
    named the threshold but passed (exit 0, on to the next entry) where the run stops, exit 3:
    it now stops there as the run does."""
    text = (
        "name: confirm\nsession: {policy: cautious-borrower, ttl: 1d}\n"
        "steps:\n  - intent: supply 1500 USDC to aave\n  - intent: wrap 0.01 eth\n"
    )
    path = tmp_path / "confirm.yaml"
    path.write_text(text)
    data_dir = attach(devnet, tmp_path / "data")
    dry = run_cli("run", str(path), "--dry-run", data_dir=data_dir)
    assert dry.returncode == 3, dry.stderr
    said = " ".join(dry.stdout.split()) + " ".join(dry.stderr.split())
    assert "above the session's threshold for a human's confirmation" in said
    assert "entry 1: this plan is above" in said and "wrap" not in dry.stdout

    result, _ = _run_file(devnet, tmp_path, "confirm.yaml", text)
    assert result.returncode == 3
    message = named(events_of(result.stdout), "StrategyDone")[-1]["message"]
    assert "a strategy run cannot ask for one: lower the amount" in message


def test_until_is_checked_before_the_interval_is_waited_out(devnet, tmp_path: Path) -> None:
    """A run whose `until` already holds after an iteration ends there (it waited the whole
    interval first: here 1,000 blocks)."""
    result, _ = _run_file(
        devnet,
        tmp_path,
        "until.yaml",
        "name: until\nsteps:\n  - intent: wrap 0.01 eth\n"
        "repeat: {every: 1000 blocks, count: 5, until: block > 0}\n",
    )
    assert result.returncode == 0, result.stderr
    events = events_of(result.stdout)
    assert named(events, "StrategyDone")[-1]["message"] == "1 iteration; block > 0 holds"
    assert named(events, "Waiting") == []


def test_after_a_chain_reset_the_interval_counts_from_the_chains_block(
    devnet, tmp_path: Path
) -> None:
    """The run remembers the block of its last iteration; after `chain reset` the chain is far
    below it, and the run waited for that block (here as if the chain had been at 10,000)."""
    data_dir = attach(devnet, tmp_path / "data")
    path = tmp_path / "three-buys.yaml"
    path.write_text(INTERRUPTIBLE)
    code, _events, _err = _stopped_while_waiting(path, data_dir, signal.SIGINT)
    assert code == 130
    with sqlite3.connect(data_dir / DB_NAME) as db:
        db.execute("UPDATE runs SET last_block = 10000")

    result = run_cli(
        "run", str(path), "--json", data_dir=data_dir, env={"DEFI_AGENT_BLOCK_SECONDS": "0.2"}
    )

    assert result.returncode == 0, result.stderr
    waits = named(events_of(result.stdout), "Waiting")
    assert waits and all(w["detail"] != "until block 10003" for w in waits)


RARE = (
    "name: rare\nsession: {policy: default, ttl: 1d}\nwhen: price(ETH) > 1000000\n"
    "steps:\n  - intent: wrap 0.01 eth\n"
)
"""A run that waits for a price it never sees."""


def _revoke_the_session(data_dir: Path) -> None:
    """Revoke the one session of ``data_dir`` (the run's own), as another shell would."""
    (own,) = json.loads(run_cli("session", "list", "--json", data_dir=data_dir).stdout)
    assert run_cli("session", "revoke", own["id"], data_dir=data_dir).returncode == 0


def test_a_run_whose_session_was_revoked_says_how_to_go_on(devnet, tmp_path: Path) -> None:
    """The run stays with its session: the advice to start a new session by hand did not
    reach it. It says to run the file again with --restart, which then goes on."""
    data_dir = attach(devnet, tmp_path / "data")
    path = tmp_path / "three-buys.yaml"
    path.write_text(INTERRUPTIBLE)
    code, _events, _err = _stopped_while_waiting(path, data_dir, signal.SIGINT)
    assert code == 130
    _revoke_the_session(data_dir)

    denied = run_cli("run", str(path), "--json", data_dir=data_dir)

    assert denied.returncode == 3
    events = events_of(denied.stdout)
    assert not named(events, "Waiting")  # said at once, not after the interval
    message = named(events, "StrategyDone")[-1]["message"]
    assert "was revoked; run the file with --restart: the new run starts" in message
    assert "running the same file again retries" not in message  # it would be denied again
    with Miner(devnet.url):
        again = run_cli("run", str(path), "--restart", "--json", data_dir=data_dir)
    assert again.returncode == 0, again.stderr


def test_a_run_waiting_for_its_trigger_stops_at_once_when_its_session_was_revoked(
    devnet, tmp_path: Path
) -> None:
    """The look at the session is made before each wait, the trigger's as the interval's: run
    again after a revocation, a run that waited for a price it never saw says at once that its
    session was revoked, instead of waiting for the price first."""
    data_dir = attach(devnet, tmp_path / "data")
    path = tmp_path / "rare.yaml"
    path.write_text(RARE)
    code, _events, _err = _stopped_while_waiting(path, data_dir, signal.SIGINT)
    assert code == 130
    _revoke_the_session(data_dir)

    denied = run_cli("run", str(path), "--json", data_dir=data_dir, timeout=60)

    assert denied.returncode == 3, denied.stderr
    events = events_of(denied.stdout)
    assert not named(events, "Waiting") and not named(events, "EntryStarted")
    assert (
        "was revoked; run the file with --restart" in named(events, "StrategyDone")[-1]["message"]
    )


def test_a_run_waiting_for_its_trigger_stops_when_its_session_is_revoked_meanwhile(
    devnet, tmp_path: Path
) -> None:
    """QA: a run waiting for a far-off trigger went on waiting after its session was revoked:
    it could sign nothing, and it never stopped. It now stops within about a second, with exit
    3 and the run's way on, not the chat's."""
    data_dir = attach(devnet, tmp_path / "data")
    path = tmp_path / "rare.yaml"
    path.write_text(RARE)
    process = _waiting(path, data_dir)
    try:
        _revoke_the_session(data_dir)
        code, events, err = _finish(process, timeout=30)
    finally:
        process.kill()
    assert code == 3, err
    message = named(events, "StrategyDone")[-1]["message"]
    assert "was revoked; run the file with --restart" in message
    assert "session new" not in message


def test_after_a_chain_reset_a_run_stops_at_once_under_its_void_session(
    tmp_path: Path, devnet_data_dir: Path, devnet_image: object
) -> None:
    """QA: a run stopped while it waited, then `chain reset`, "continued" under its session,
    void on the chain that started over, and waited for its interval before the denial. It now
    says at once that the session is void and how to go on (exit 3, nothing waited for). On a
    chain of its own: the reset must not touch the devnet other tests share."""
    data_dir = tmp_path / ".defi-agent"
    shutil.copytree(devnet_data_dir / "devnet", data_dir / "devnet")
    path = tmp_path / "three-buys.yaml"
    path.write_text(INTERRUPTIBLE)
    try:
        assert run_cli("chain", "up", data_dir=data_dir).returncode == 0
        code, _events, _err = _stopped_while_waiting(path, data_dir, signal.SIGINT)
        assert code == 130
        assert run_cli("chain", "reset", data_dir=data_dir).returncode == 0

        again = run_cli("run", str(path), "--json", data_dir=data_dir)

        assert again.returncode == 3, again.stderr
        events = events_of(again.stdout)
        assert not named(events, "Waiting") and not named(events, "EntryStarted")
        message = named(events, "StrategyDone")[-1]["message"]
        assert "is void on this chain, which started over since the session began" in message
        assert "run the file with --restart: the new run starts a new session" in message
    finally:
        run_cli("chain", "down", data_dir=data_dir)


def test_a_time_interval_is_chain_time_that_warp_moves(devnet, tmp_path: Path) -> None:
    """`every: 1d` waited a day of the wall clock though `chain warp` had moved the chain's, on
    which sessions expire."""
    data_dir = attach(devnet, tmp_path / "data")
    path = tmp_path / "daily.yaml"
    path.write_text(
        "name: daily\nsession: {policy: default, ttl: 7d}\n"
        "steps:\n  - intent: wrap 0.01 eth\nrepeat: {every: 1d, count: 2}\n"
    )
    process = _waiting(path, data_dir)
    assert run_cli("chain", "warp", "25h", data_dir=data_dir).returncode == 0
    code, events, err = _finish(process, timeout=60)
    assert code == 0, err
    assert named(events, "StrategyDone")[-1]["iterations"] == 2


def test_a_run_under_a_session_named_by_id_stops_once_a_newer_one_supersedes_it(
    devnet, tmp_path: Path
) -> None:
    """A run under `session: {id: ...}` signed every iteration under it after `session new`
    had superseded it: a narrower session did not rein in a running bot."""
    data_dir = attach(devnet, tmp_path / "data")
    created = run_cli("session", "new", "--ttl", "2h", "--json", data_dir=data_dir)
    session_id = json.loads(created.stdout)["id"]
    path = tmp_path / "by-id.yaml"
    path.write_text(
        f"name: by-id\nsession: {{id: {session_id}}}\n"
        "steps:\n  - intent: wrap 0.001 eth\nrepeat: {every: 3 blocks, count: 3}\n"
    )
    process = _waiting(path, data_dir)  # after the first iteration
    assert run_cli("session", "new", "--ttl", "2h", data_dir=data_dir).returncode == 0
    with Miner(devnet.url):
        code, events, _err = _finish(process)
    assert code == 3
    assert named(events, "TxConfirmed") == []  # nothing after the first iteration
    message = named(events, "StrategyDone")[-1]["message"]
    assert "was started since this plan was decided" in message


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("intent: make me rich", "step 2 ('make me rich'): I don't understand 'make me rich'"),
        ("intent: swap 1 PEPE for USDC", "step 2 ('swap 1 PEPE for USDC'): I don't know the token"),
    ],
)
def test_validate_reads_each_intent_as_the_run_will(tmp_path: Path, entry: str, said: str) -> None:
    """`strategies validate` said valid, and `run` failed at that step (exit 2)."""
    path = tmp_path / "words.yaml"
    path.write_text(f"name: words\nsteps:\n  - intent: earn yield on my usdc\n  - {entry}\n")

    result = run_cli("strategies", "validate", str(path), data_dir=tmp_path / "data")

    assert result.returncode == 2 and said in result.stderr, result.stderr


def test_validate_checks_the_lifetime_of_the_policy_a_strategy_names(tmp_path: Path) -> None:
    """A policy of `ttl = "800d"` validated, and `run` refused it."""
    policy = tmp_path / "long.toml"
    policy.write_text((ROOT / "policies" / "default.toml").read_text().replace('"24h"', '"800d"'))
    path = tmp_path / "long.yaml"
    path.write_text("name: long\nsession: {policy: long.toml}\nsteps:\n  - intent: wrap 1 eth\n")

    result = run_cli("strategies", "validate", str(path), data_dir=tmp_path / "data")

    assert result.returncode == 2
    assert "800d is longer than a session may live (365d)" in result.stderr


def test_running_a_finished_file_again_says_it_is_a_new_run(devnet, tmp_path: Path) -> None:
    """A file run to its end, run again, silently began anew with a fresh session and allowance:
    a user running it again "to continue" bought everything twice without a word."""
    text = "name: once\nsession: {policy: default, ttl: 1h}\nsteps:\n  - intent: wrap 0.001 eth\n"
    first, data_dir = _run_file(devnet, tmp_path, "once.yaml", text)
    assert first.returncode == 0, first.stderr
    assert named(events_of(first.stdout), "StrategyStarted")[0]["previous"] is None

    again = run_cli("run", str(tmp_path / "once.yaml"), data_dir=data_dir)

    assert again.returncode == 0, again.stderr
    flat = " ".join(again.stdout.split())
    assert "note: this file ran to its end before (run" in flat
    assert "1 iteration): this is a new run, from its first iteration" in flat
    session = named(events_of(first.stdout), "StrategyStarted")[0]["session"]
    assert "under a new session of its policy: the policy's allowances start afresh" in flat
    assert f"name session {session.split('(')[1].rstrip(')')} in the file" in flat, flat


def test_a_failed_run_says_why_on_stderr_as_written(devnet, tmp_path: Path) -> None:
    """In human mode the reason was on stdout with stderr empty, unlike every other command's
    error; and words of the file that read as Rich markup ("[/bold]") made it a traceback."""
    data_dir = attach(devnet, tmp_path / "data")
    path = tmp_path / "markup.yaml"
    path.write_text("name: markup\nsteps:\n  - intent: swap 1 [/bold] for usdc\n")

    result = run_cli("run", str(path), data_dir=data_dir)

    assert result.returncode == 2, result.stderr
    assert "I don't know the token '[/bold]'" in result.stderr
    assert result.stderr.count("I don't know the token") == 1  # once: not as error: and failed:
    assert "Traceback" not in result.stderr


def test_a_session_id_yaml_reads_as_a_number_is_named_as_such(tmp_path: Path) -> None:
    """An id of digits alone (1 in 281 of them) was a YAML number: the file failed with "Input
    should be a valid string" (CI, 2026-12-03). Ids now have a letter; such a file says to quote
    it."""
    path = tmp_path / "number.yaml"
    path.write_text("name: number\nsession: {id: 123456789012}\nsteps:\n  - intent: wrap 1 eth\n")

    result = run_cli("strategies", "validate", str(path), data_dir=tmp_path / "data")

    assert result.returncode == 2
    assert "session.id: YAML read this id as a number: write it in quotes" in result.stderr
