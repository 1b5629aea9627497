"""The chain goes away in the middle of a plan, right after accepting a transaction but before its
receipt comes back (a proxy in front of the real anvil drops that answer). `resume` finishes the
plan without sending anything twice."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from agent.audit import audit
from agent.events import RunDone, RunFailed, TxConfirmed
from agent.service import AgentService
from agent.wiring import build_service
from tests.conftest import run_cli
from tests.execution.conftest import collect, propose
from tests.proxy import ChainProxy
from tests.strategies.kit import attach
from tools.chain.plain import rpc
from tools.erc20.reads import allowance, balance, token


def _interrupted(
    devnet, data_dir: Path, text: str, policy: Path | None = None, **fault: str
) -> tuple[AgentService, str, RunFailed]:
    """``text`` proposed and executed through a proxy that drops the answer to the first send
    (or with another ``fault`` of `ChainProxy`'s): the service, the plan's id and how its
    execution ended."""
    proxy = ChainProxy(devnet.url, **(fault or {"drop_answer_to": "eth_sendRawTransactionSync"}))
    service = build_service(url=proxy.url, book=devnet.book, data_dir=data_dir, policy_file=policy)
    plan_id = propose(service, text)[-1].plan_id
    failed = collect(service.execute(plan_id, human_confirmed=True))[-1]
    assert isinstance(failed, RunFailed), failed
    return service, plan_id, failed


def _unsettled(service: AgentService) -> list[dict]:
    """What `audit` lists as still reserved, its outcome unknown."""
    gate = service.authorizer
    unknown = lambda _: None  # noqa: E731
    report = audit(gate.sessions, gate.engine.ledger, service.journal.authorised(), unknown, len)
    return report["unsettled"]


def test_interrupted_plan_resumes_without_resending(devnet, tmp_path: Path) -> None:
    w3, book = devnet.w3, devnet.book
    usdc, dai = token(w3, book, "USDC"), token(w3, book, "DAI")
    nonce, dai_before = w3.eth.get_transaction_count(devnet.wallet), balance(w3, dai, devnet.wallet)
    data_dir = tmp_path / "data"
    first, plan_id, failed = _interrupted(devnet, data_dir, "swap 1000 usdc for dai")
    assert failed.exit_code == 5
    assert f"defi-agent resume {plan_id}" in failed.message
    records = first.journal.txs(plan_id)
    assert [r.status for r in records] == ["signed", "authorised"]
    assert w3.eth.get_transaction_count(devnet.wallet) == nonce + 1  # the approval did land

    again = build_service(url=devnet.url, book=book, data_dir=data_dir)
    resumed = collect(again.resume(plan_id))
    assert isinstance(resumed[-1], RunDone), resumed[-1]
    confirmed = [e for e in resumed if isinstance(e, TxConfirmed)]
    assert confirmed[0].tx_hash == records[0].tx_hash  # found by its hash, not sent again
    assert w3.eth.get_transaction_count(devnet.wallet) == nonce + 2
    assert [r.status for r in again.journal.txs(plan_id)] == ["confirmed", "confirmed"]
    record = again.journal.plan(plan_id)
    assert (record.status, record.error) == ("done", None)  # not the lost chain's error
    gained = dai.to_units(balance(w3, dai, devnet.wallet) - dai_before)
    assert Decimal(990) < gained < Decimal(1000)
    assert allowance(w3, usdc, devnet.wallet, book.uniswap_v3.swap_router02) == 0
    assert collect(again.resume(plan_id))[-1] == RunDone(plan_id, "done", {})
    # 1,000 USD of the allowance, as the plan uninterrupted: the swap pulls under the approval
    # executed before, which counted it (it counted 2,000)
    entries = again.authorizer.engine.ledger.entries(again.authorizer.current().id)
    assert sum(e["usd_cents"] for e in entries if e["status"] == "committed") == 100_000


def test_a_plan_never_executed_is_not_resumed(devnet, service) -> None:
    """Only a plan whose execution began is resumed: resume must not send what was only
    simulated (a dry run, an MCP `simulate`) or refused."""
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
    plan_id = propose(service, "swap 1000 usdc for dai")[-1].plan_id

    (failed,) = collect(service.resume(plan_id))

    assert isinstance(failed, RunFailed) and (failed.code, failed.exit_code) == ("not_started", 2)
    assert "was never executed (simulated): there is nothing to resume" in failed.message
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce
    assert service.journal.plan(plan_id).status == "simulated"


def test_resume_refuses_what_needs_a_persons_confirmation(devnet, tmp_path: Path) -> None:
    """The rest of an interrupted plan above the session's confirmation threshold is refused:
    resume runs headless, and headless runs never send what only a person may confirm. (The
    swap pulling under the approval sent before counts nothing more; the supply's 1,000 USD
    do.)"""
    w3, book = devnet.w3, devnet.book
    policy = tmp_path / "confirm.toml"
    policy.write_text(
        Path(__file__)
        .with_name("roomy.toml")
        .read_text()
        .replace("max_usd_per_tx = 1000000", "max_usd_per_tx = 1000000\nconfirm_above_usd = 500")
    )
    nonce = w3.eth.get_transaction_count(devnet.wallet)
    data_dir = tmp_path / "data"
    text = "swap 1000 usdc for dai and supply 1000 usdc to aave"
    _, plan_id, _ = _interrupted(devnet, data_dir, text, policy)

    again = build_service(url=devnet.url, book=book, data_dir=data_dir, policy_file=policy)
    failed = collect(again.resume(plan_id))[-1]

    assert isinstance(failed, RunFailed) and (failed.code, failed.exit_code) == (
        "needs_confirmation",
        3,
    )
    assert "above the session's threshold for a human's confirmation" in failed.message
    assert w3.eth.get_transaction_count(devnet.wallet) == nonce + 1  # the approval alone


def test_a_plan_another_live_process_executes_is_not_resumed(devnet, service) -> None:
    """Resuming while `do` still sends the plan elsewhere sent its next transaction again
    ("nonce too low") and marked a mined one failed."""
    plan_id = propose(service, "swap 1000 usdc for dai")[-1].plan_id
    elsewhere = devnet.pid  # a live process that is not this one
    service.journal.conn.execute("UPDATE plans SET pid = ? WHERE id = ?", (elsewhere, plan_id))
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)

    (busy,) = collect(service.resume(plan_id))
    (also,) = collect(service.execute(plan_id, human_confirmed=True))

    for refused in (busy, also):
        assert isinstance(refused, RunFailed) and (refused.code, refused.exit_code) == (
            "plan_busy",
            2,
        )
        assert f"plan {plan_id} is being executed by process {elsewhere}" in refused.message
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce
    assert service.journal.plan(plan_id).status == "simulated"


def test_a_plan_whose_confirmed_steps_the_chain_forgot_is_not_resumed(devnet, service) -> None:
    """After `chain reset`, a plan interrupted before it would send its supply on top of a swap
    that no longer happened. Here: its approval confirmed, its swap sent, the chain then put back to
    before both.
    What it had reserved is released: nothing of it was spent on this chain."""
    w3 = devnet.w3
    before = rpc(w3, "evm_snapshot")
    plan_id = propose(service, "swap 1000 usdc for dai")[-1].plan_id
    assert isinstance(collect(service.execute(plan_id, human_confirmed=True))[-1], RunDone)
    db = service.journal.conn
    db.execute("UPDATE plans SET status = 'executing' WHERE id = ?", (plan_id,))
    db.execute("UPDATE txs SET status = 'sent' WHERE plan_id = ? AND idx = 1", (plan_id,))
    db.execute("UPDATE reservations SET status = 'reserved' WHERE usd_cents > 0")  # the swap's
    approval = service.journal.txs(plan_id)[0].tx_hash
    rpc(w3, "evm_revert", before)
    nonce = w3.eth.get_transaction_count(devnet.wallet)

    failed = collect(service.resume(plan_id))[-1]

    assert isinstance(failed, RunFailed) and (failed.code, failed.exit_code) == ("plan_gone", 2)
    assert f"was confirmed as {approval}, which this chain does not have" in failed.message
    assert w3.eth.get_transaction_count(devnet.wallet) == nonce
    # QA: the swap's reservation stayed reserved for good, audit sending the user to this resume
    ledger = service.authorizer.engine.ledger
    statuses = [e["status"] for e in ledger.entries(service.authorizer.current().id)]
    assert "reserved" not in statuses, statuses


def test_a_resumed_swap_then_supply_counts_the_swap_once(devnet, tmp_path: Path) -> None:
    """The swap went through before the chain went away; resumed, the supply of its output is
    covered by it, as in an uninterrupted run: 3,000 USD of the day's allowance, not 6,000."""
    data_dir = tmp_path / "data"
    _, plan_id, _ = _interrupted(devnet, data_dir, "swap 1 ETH to USDC then supply it to aave")

    again = build_service(url=devnet.url, book=devnet.book, data_dir=data_dir)
    assert isinstance(collect(again.resume(plan_id))[-1], RunDone)

    (day,) = again.authorizer.status().windows
    assert Decimal(2990) < day.used <= Decimal(3001), day


def test_resume_says_what_the_plan_moved_on_aave(devnet, tmp_path: Path) -> None:
    """`resume`'s done line said only what the plan did to the wallet: "-1.0004 ETH" for a swap
    then supply, as if the USDC had vanished; `do`, `run` and the chat say what went to Aave."""
    data_dir = attach(devnet, tmp_path / "data")
    _, plan_id, _ = _interrupted(devnet, data_dir, "swap 1 ETH to USDC then supply it to aave")

    result = run_cli("resume", plan_id, data_dir=data_dir, env={"COLUMNS": "200"})

    assert result.returncode == 0, result.stdout + result.stderr
    done = result.stdout.splitlines()[-1]
    assert done.startswith("done: ") and " ETH; on Aave: 2,9" in done, done
    assert done.endswith(" USDC supplied"), done
    _, eth_plan, _ = _interrupted(devnet, data_dir, "supply 1 ETH to aave")
    supplied = run_cli("resume", eth_plan, data_dir=data_dir, env={"COLUMNS": "200"})
    assert supplied.stdout.splitlines()[-1].endswith("; on Aave: 1 ETH supplied")  # fee apart


def test_a_resumed_plan_reports_its_own_changes_not_those_of_a_plan_run_meanwhile(
    devnet, tmp_path: Path
) -> None:
    """Between the interruption and `resume`, another plan swapped 1,000 USDC for DAI: the
    resumed plan reported that swap as its own outcome too (its changes were counted from its
    start to now), and a strategy's "output:N" would spend them."""
    data_dir = tmp_path / "data"
    _, plan_id, _ = _interrupted(devnet, data_dir, "swap 1 ETH to USDC then supply it to aave")
    again = build_service(url=devnet.url, book=devnet.book, data_dir=data_dir)
    meanwhile = propose(again, "swap 1000 usdc for dai")[-1].plan_id
    assert isinstance(collect(again.execute(meanwhile, human_confirmed=True))[-1], RunDone)

    done = collect(again.resume(plan_id))[-1]

    assert isinstance(done, RunDone), done
    assert set(done.deltas) == {"ETH"}, done.deltas  # the swap's USDC all went into Aave
    assert Decimal("-1.01") < done.deltas["ETH"] < Decimal(-1)


def test_a_plan_resumed_under_another_session_counts_the_rest_whole(devnet, tmp_path: Path) -> None:
    """The swap was counted by the session it ran under; a session started since did not count
    it, so its output covers nothing there: the supply counts whole, and above cautious-borrower's
    1,000 USD it needs a person (it was sent, counted 0 USD)."""
    data_dir = tmp_path / "data"
    _, plan_id, _ = _interrupted(devnet, data_dir, "swap 0.5 ETH to USDC then supply it to aave")
    again = build_service(url=devnet.url, book=devnet.book, data_dir=data_dir)
    again.authorizer.new_session("cautious-borrower", None)
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)

    failed = collect(again.resume(plan_id))[-1]

    assert isinstance(failed, RunFailed) and failed.code == "needs_confirmation", failed
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce


def test_a_send_the_node_gave_up_waiting_for_stays_counted(devnet, tmp_path: Path) -> None:
    """The node accepted the swap, then answered "Transaction confirmation timeout": the plan
    was marked failed (exit 1) and its spend released, though the swap was mined later, so
    it escaped the session's limits. Its outcome is unknown: it stays reserved until `resume`
    finds the receipt, and then it is committed."""
    data_dir = tmp_path / "data"
    timeout = {"time_out": "eth_sendRawTransactionSync"}
    first, plan_id, failed = _interrupted(devnet, data_dir, "swap 1 ETH for USDC", **timeout)
    assert failed.exit_code == 5, failed
    assert "the node gave up waiting for it to be mined" in failed.message
    assert f"defi-agent resume {plan_id}" in failed.message
    (counted,) = first.authorizer.engine.ledger.entries(first.authorizer.current().id)
    assert (counted["status"], counted["usd_cents"]) == ("reserved", 300000)

    again = build_service(url=devnet.url, book=devnet.book, data_dir=data_dir)
    resumed = collect(again.resume(plan_id))
    assert isinstance(resumed[-1], RunDone), resumed[-1]
    (counted,) = again.authorizer.engine.ledger.entries(again.authorizer.current().id)
    assert counted["status"] == "committed"


def test_a_transaction_signed_but_never_sent_is_not_counted_twice(devnet, tmp_path: Path) -> None:
    """The process stopped after signing the swap and before sending it: its spend stayed
    reserved, and resume reserved it again, so one 3,000 USD swap used 6,000 USD of the day's
    allowance. Resume finds that it never reached the chain and releases it first."""
    data_dir = tmp_path / "data"
    cut = {"cut_before": "eth_sendRawTransactionSync"}
    first, plan_id, failed = _interrupted(devnet, data_dir, "swap 1 ETH for USDC", **cut)
    assert failed.exit_code == 5, failed
    (record,) = first.journal.txs(plan_id)
    assert record.status == "signed" and record.tx_hash is not None
    assert rpc(devnet.w3, "eth_getTransactionByHash", record.tx_hash) is None
    assert [(u["plan_id"], u["usd"]) for u in _unsettled(first)] == [(plan_id, "3000.00")]

    again = build_service(url=devnet.url, book=devnet.book, data_dir=data_dir)
    assert isinstance(collect(again.resume(plan_id))[-1], RunDone)
    assert _unsettled(again) == []

    entries = again.authorizer.engine.ledger.entries(again.authorizer.current().id)
    assert [e["status"] for e in entries] == ["released", "committed"]
    (day,) = again.authorizer.status().windows
    assert Decimal(2990) < day.used <= Decimal(3001), day


def test_a_strategy_runs_plan_resumed_by_hand_is_decided_under_the_runs_session(
    devnet, tmp_path: Path
) -> None:
    """`defi-agent resume` of a plan a strategy run had started charged the chat's and CLI's
    session, not the run's own that authorised the plan's first transaction."""
    data_dir = tmp_path / "data"
    proxy = ChainProxy(devnet.url, drop_answer_to="eth_sendRawTransactionSync")
    run = build_service(url=proxy.url, book=devnet.book, data_dir=data_dir)
    roomy = str(Path(__file__).with_name("roomy.toml"))
    own = run.authorizer.new_session(roomy, None, strategy=str(tmp_path / "s.yaml"))
    plan_id = propose(run, "swap 1000 usdc for dai")[-1].plan_id
    assert isinstance(collect(run.execute(plan_id, human_confirmed=False))[-1], RunFailed)

    by_hand = build_service(url=devnet.url, book=devnet.book, data_dir=data_dir)
    assert isinstance(collect(by_hand.resume(plan_id))[-1], RunDone)

    ledger = by_hand.authorizer.engine.ledger
    assert [e["status"] for e in ledger.entries(own.id)] == ["committed", "released", "committed"]
    cli = by_hand.authorizer.current()
    assert cli is None or not ledger.entries(cli.id)


def test_a_transaction_waiting_to_be_mined_is_not_sent_again(
    devnet, tmp_path: Path, monkeypatch
) -> None:
    """The swap was sent and the node had not mined it when the agent stopped waiting: resuming
    then would sign the swap again at the next nonce, and both would execute. Resume waits for
    it instead, and once it is mined, counts it as spent."""
    monkeypatch.setattr("agent.signer.RECEIPT_TIMEOUT", 0.5)
    data_dir = tmp_path / "data"
    service = build_service(url=devnet.url, book=devnet.book, data_dir=data_dir)
    plan_id = propose(service, "swap 1 ETH for USDC")[-1].plan_id
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
    rpc(devnet.w3, "evm_setAutomine", False)
    try:
        failed = collect(service.execute(plan_id, human_confirmed=True))[-1]
        assert isinstance(failed, RunFailed) and failed.exit_code == 5, failed
        waiting = collect(service.resume(plan_id))[-1]
        assert isinstance(waiting, RunFailed) and "not mined yet" in waiting.message, waiting
        assert f"defi-agent resume {plan_id}" in waiting.message
        assert devnet.w3.eth.get_transaction_count(devnet.wallet, "pending") == nonce + 1
    finally:
        rpc(devnet.w3, "evm_setAutomine", True)
    rpc(devnet.w3, "evm_mine")

    assert isinstance(collect(service.resume(plan_id))[-1], RunDone)
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce + 1
    record = service.journal.plan(plan_id)
    assert record is not None and (record.status, record.error) == ("done", None)  # was "not mined"
    (counted,) = service.authorizer.engine.ledger.entries(service.authorizer.current().id)
    assert counted["status"] == "committed"
