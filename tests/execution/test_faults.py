"""Faults between the plan and the chain: a swap with no liquidity for the amount, and a
transaction that simulated fine but reverts when mined because someone else acted first."""

from __future__ import annotations

from pathlib import Path

from agent.events import PolicyDecision, RunFailed, TxConfirmed
from agent.wiring import build_service
from tests.chain.helpers import send
from tests.execution.conftest import collect, propose, run
from tests.proxy import ChainProxy
from tools.chain.contracts import contract
from tools.chain.plain import rpc


def test_a_swap_without_liquidity_for_the_amount_is_bad_input(devnet, service) -> None:
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)

    failed = propose(service, "buy 50000000 USDC with ETH")[-1]

    assert isinstance(failed, RunFailed) and failed.exit_code == 2, failed
    assert failed.code == "no_route"
    assert "no liquidity for this amount" in failed.message
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce


def test_a_transaction_that_reverts_when_mined_is_reported_and_journaled(
    devnet, roomy, tmp_path: Path
) -> None:
    """The borrow simulates fine; just before it reaches the chain, Aave's DAI supplier withdraws
    all the DAI that could be lent, so the mined borrow reverts."""
    w3, book = devnet.w3, devnet.book
    assert run(roomy, "supply 2 ETH to aave")[-1].status == "done"
    supplier = rpc(w3, "eth_accounts")[-2]
    dai = book.token("DAI")
    a_dai, _, _ = (
        contract(w3, "aave_data_provider", book.aave_v3.data_provider)
        .functions.getReserveTokensAddresses(dai)
        .call()
    )

    def drain() -> None:
        idle = contract(w3, "erc20", dai).functions.balanceOf(a_dai).call()
        send(w3, supplier, "aave_pool", book.aave_v3.pool, "withdraw", dai, idle, supplier)

    proxy = ChainProxy(devnet.url, first_before=("eth_sendRawTransactionSync", drain))
    service = build_service(
        url=proxy.url,
        book=book,
        data_dir=tmp_path / "roomy",
        policy_file=Path(__file__).with_name("roomy.toml"),
    )
    decision = propose(service, "borrow 100 DAI from aave")[-1]
    assert isinstance(decision, PolicyDecision) and decision.allowed, decision
    nonce = w3.eth.get_transaction_count(devnet.wallet)

    events = collect(service.execute(decision.plan_id, human_confirmed=True))
    proxy.shutdown()

    confirmed = [e for e in events if isinstance(e, TxConfirmed)]
    assert [e.success for e in confirmed] == [False]
    failed = events[-1]
    assert isinstance(failed, RunFailed) and failed.exit_code == 4, failed
    assert failed.code == "transaction_reverted"
    assert "reverted on chain" in failed.message
    assert w3.eth.get_transaction_count(devnet.wallet) == nonce + 1  # mined once, not retried
    assert [t.status for t in service.journal.txs(decision.plan_id)] == ["failed"]
    assert service.journal.plan(decision.plan_id).status == "failed"


def test_a_node_without_the_sync_send_is_sent_to_and_polled(devnet, tmp_path: Path) -> None:
    """A node that lacks eth_sendRawTransactionSync (most public ones): the transaction goes out
    with eth_sendRawTransaction and its receipt is polled for."""
    usdc = contract(devnet.w3, "erc20", devnet.book.token("USDC"))
    before = usdc.functions.balanceOf(devnet.wallet).call()
    proxy = ChainProxy(devnet.url, unknown="eth_sendRawTransactionSync")
    service = build_service(url=proxy.url, book=devnet.book, data_dir=tmp_path / "data")

    events = run(service, "swap 0.1 ETH for USDC")
    proxy.shutdown()

    confirmed = [e for e in events if isinstance(e, TxConfirmed)]
    assert len(confirmed) == 1 and confirmed[0].success
    assert events[-1].status == "done", events[-1]
    assert usdc.functions.balanceOf(devnet.wallet).call() > before + 290 * 10**6
