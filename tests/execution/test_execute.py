"""Plans executed for real on the devnet: swaps, Aave, chains, exact approvals, dry runs."""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal

import pytest
from rich.console import Console

from agent.errors import BadInput
from agent.events import RunDone, RunFailed, SimulationDone, TxConfirmed, TxSent
from agent.tui.sidebar import render as sidebar
from tests.chain.helpers import send
from tests.execution.conftest import collect, outcome, propose, run
from tools.aave_v3.adapter import INTEREST_MARGIN_SECONDS
from tools.aave_v3.reads import account
from tools.chain.plain import rpc
from tools.erc20.reads import allowance, balance, token
from tools.uniswap_v3.adapter import DEADLINE_SECONDS


def bal(devnet, symbol: str) -> Decimal:
    tok = token(devnet.w3, devnet.book, symbol)
    return tok.to_units(balance(devnet.w3, tok, devnet.wallet))


def done(events) -> RunDone:
    result = outcome(events)
    assert isinstance(result, RunDone), result
    assert result.status == "done" and result.mismatches == ()
    return result


def test_exact_in_swap_changes_balances_as_simulated(devnet, service) -> None:
    before = bal(devnet, "USDC")
    events = run(service, "swap 1 ETH for USDC")
    simulated = next(e for e in events if isinstance(e, SimulationDone)).deltas["USDC"]
    result = done(events)
    assert result.deltas["USDC"] == simulated
    assert bal(devnet, "USDC") - before == simulated
    assert Decimal(2980) < simulated < Decimal(3000)


def test_the_network_fee_shown_is_the_fee_paid(devnet, service) -> None:
    """Also on a chain just restored to its saved state, as every test's is (the first transaction
    after `chain up` paid twice the fee its card showed)."""
    eth_before = devnet.w3.eth.get_balance(devnet.wallet)
    events = run(service, "wrap 1 eth")
    (step,) = next(e for e in events if isinstance(e, SimulationDone)).steps
    result = done(events)
    paid = Decimal(eth_before - devnet.w3.eth.get_balance(devnet.wallet)) / 10**18 - 1
    assert paid == step.fee_eth > 0
    assert result.deltas["ETH"] == -1 - paid


def test_the_gas_simulated_is_the_gas_used_after_idle_time(devnet, service) -> None:
    """The simulation runs at the time the next block will be mined. At the latest block's time,
    as `eth_simulateV1` has it by default, a devnet idle for an hour skipped Aave's index update
    in the simulation: the supply used 12 % more gas than its card showed. The fee shown is then
    at most the fee paid: each transaction is mined in a block of its own, whose base fee falls
    after the light block before it."""
    rpc(devnet.w3, "evm_increaseTime", 3600)
    eth_before = devnet.w3.eth.get_balance(devnet.wallet)
    events = run(service, "swap 1 ETH to USDC then supply it to aave")
    steps = next(e for e in events if isinstance(e, SimulationDone)).steps
    done(events)
    used: dict[int, int] = {}
    for e in events:
        if isinstance(e, TxConfirmed):
            used[e.step] = used.get(e.step, 0) + e.gas_used
    assert used == {s.step: s.gas for s in steps}
    paid = Decimal(eth_before - devnet.w3.eth.get_balance(devnet.wallet)) / 10**18 - 1
    assert 0 < paid <= sum(s.fee_eth for s in steps)


def test_a_swap_on_a_chain_idle_for_hours_meets_its_deadline(devnet, service) -> None:
    """A devnet mines only when a transaction comes: its latest block may be hours old. The swap's
    deadline is counted from when the next block is mined, not from that block (the swap was
    mined past its deadline and reverted)."""
    rpc(devnet.w3, "evm_increaseTime", 2 * 3600)  # two idle hours, no block mined

    done(run(service, "swap 0.1 ETH for USDC"))


def test_a_swap_left_open_past_its_deadline_is_refused_not_sent(devnet, service) -> None:
    """QA: a card answered 25 minutes after it was shown, no block mined in between, was sent as
    it was, reverted on chain past its deadline (the fee paid for nothing), and the reason read
    "it succeeds when replayed now": the replay ran at the simulation's time."""
    plan_id = propose(service, "swap 0.2 ETH for USDC")[-1].plan_id
    rpc(devnet.w3, "evm_increaseTime", DEADLINE_SECONDS + 300)
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
    failed = outcome(collect(service.execute(plan_id, human_confirmed=True)))
    assert isinstance(failed, RunFailed) and failed.exit_code == 4, failed
    assert "the swap's deadline has passed" in failed.message
    assert "25 min" in failed.message and "nothing was sent" in failed.message
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce


def test_a_dry_run_simulates_again_now_and_leaves_the_plan_open(devnet, service) -> None:
    """A dry run of an open plan is what executing it now would do, nothing sent; the plan can
    still be executed after it, and one past its deadline says why it would fail."""
    plan_id = propose(service, "swap 0.2 ETH for USDC")[-1].plan_id
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
    rehearsed = asyncio.run(service.dry_run(plan_id))
    assert isinstance(rehearsed, RunDone) and rehearsed.status == "dry_run", rehearsed
    assert Decimal(590) < rehearsed.deltas["USDC"] < Decimal(600)
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce
    rpc(devnet.w3, "evm_increaseTime", DEADLINE_SECONDS + 300)
    stale = asyncio.run(service.dry_run(plan_id))
    assert isinstance(stale, RunFailed) and "deadline has passed" in stale.message, stale
    assert asyncio.run(service.dry_run("f" * 12)) is None
    later = propose(service, "swap 0.2 ETH for USDC")[-1].plan_id
    asyncio.run(service.dry_run(later))
    done(collect(service.execute(later, human_confirmed=True)))
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce + 1


def test_a_dry_run_decides_the_policy_again_now(devnet, service) -> None:
    """QA: a dry run said what the swap would do, with the allowance spent meanwhile in another
    shell, and y was then denied. It says the policy would deny it now."""
    plan_id = propose(service, "swap 1 ETH for USDC")[-1].plan_id
    for _ in range(3):  # 9,000 USD of the 10,000 a day spent elsewhere
        done(run(service, "swap 1 ETH for USDC"))
    denied = asyncio.run(service.dry_run(plan_id))
    assert isinstance(denied, RunFailed) and denied.exit_code == 3, denied
    assert denied.message.startswith("denied by policy now: ") and "USD left" in denied.message


def test_a_node_refusing_a_transaction_says_it_was_not_broadcast(devnet, service) -> None:
    """QA: the card said "sent 0x…" for a transaction the node refused (the balance was set
    lower on the devnet, no block mined); after a dry run that found it would fail, y simulates
    it again and refuses it before signing."""
    plan_id = propose(service, "swap 1 ETH for USDC")[-1].plan_id
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
    rpc(devnet.w3, "anvil_setBalance", devnet.wallet, hex(5 * 10**17))
    refused = outcome(collect(service.execute(plan_id, human_confirmed=True)))
    assert isinstance(refused, RunFailed) and refused.code == "transaction_refused", refused
    assert "the node refused the transaction 0x" in refused.message
    assert "it was not broadcast" in refused.message
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce
    again = propose(service, "swap 0.4 ETH for USDC")[-1].plan_id
    rpc(devnet.w3, "anvil_setBalance", devnet.wallet, hex(10**17))
    failed = asyncio.run(service.dry_run(again))
    assert isinstance(failed, RunFailed) and failed.code == "insufficient_funds", failed
    assert failed.exit_code == 4 and "does not cover" in failed.message
    events = collect(service.execute(again, human_confirmed=True))
    assert not any(isinstance(e, TxSent) for e in events), events
    assert isinstance(outcome(events), RunFailed)


def test_exact_out_swap_buys_exactly(devnet, service) -> None:
    before = bal(devnet, "WBTC")
    done(run(service, "buy 0.01 wbtc with dai"))
    assert bal(devnet, "WBTC") - before == Decimal("0.01")
    router = devnet.book.uniswap_v3.swap_router02
    assert allowance(devnet.w3, token(devnet.w3, devnet.book, "DAI"), devnet.wallet, router) == 0


def test_multi_hop_route_through_weth(devnet, service) -> None:
    events = run(service, "swap 1000 DAI for WBTC")
    sent = [e for e in events if isinstance(e, TxSent)]
    assert any("DAI --0.3%--> WETH --0.3%--> WBTC" in e.label for e in sent)
    assert done(events).deltas["DAI"] == Decimal(-1000)


def test_slippage_breach_is_caught_before_anything_is_sent(devnet, service) -> None:
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
    result = outcome(run(service, "swap 2 WBTC for USDC"))
    assert isinstance(result, RunFailed) and result.exit_code == 4
    assert "more than the 0.5% slippage bound" in result.message
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce


def test_supply_borrow_repay_all_withdraw_all(devnet, roomy) -> None:
    service = roomy
    done(run(service, "supply 10 eth to aave"))
    done(run(service, "borrow 5000 usdc"))
    hf = account(devnet.w3, devnet.book, devnet.wallet).health_factor
    assert hf is not None and Decimal("4.9") < hf < Decimal("5.0")
    done(run(service, "repay all my usdc debt"))
    state = account(devnet.w3, devnet.book, devnet.wallet)
    assert state.debt_usd == 0 and state.health_factor is None
    pool = devnet.book.aave_v3.pool
    assert allowance(devnet.w3, token(devnet.w3, devnet.book, "USDC"), devnet.wallet, pool) == 0
    done(run(service, "withdraw all my weth from aave"))
    assert account(devnet.w3, devnet.book, devnet.wallet).positions == ()
    assert bal(devnet, "WETH") >= Decimal(10)


def test_repaying_100_percent_leaves_no_debt_as_interest_accrues(devnet, roomy) -> None:
    """QA: "100%" was the debt at the simulation; interest accrued until the repay was mined, and
    dust debt was left. 100% of a position is all of it, as "all" is. Half the approval's margin
    of interest passes: a wait of the whole margin failed in CI by the seconds the test took."""
    done(run(roomy, "supply 10 eth to aave"))
    done(run(roomy, "borrow 5000 usdc"))
    plan_id = propose(roomy, "repay 100% of my usdc debt")[-1].plan_id
    rpc(devnet.w3, "evm_increaseTime", INTEREST_MARGIN_SECONDS // 2)
    rpc(devnet.w3, "evm_mine")
    done(collect(roomy.execute(plan_id, human_confirmed=True)))
    assert account(devnet.w3, devnet.book, devnet.wallet).debt_usd == 0


def test_a_full_repay_left_longer_than_its_margin_sends_nothing(devnet, roomy) -> None:
    """The approval covers the debt plus an hour of interest; a card left open for two hours is
    simulated again before anything is signed, and refused whole: no approval left behind."""
    done(run(roomy, "supply 10 eth to aave"))
    done(run(roomy, "borrow 5000 usdc"))
    debt = account(devnet.w3, devnet.book, devnet.wallet).debt_usd
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
    plan_id = propose(roomy, "repay all my usdc debt")[-1].plan_id
    rpc(devnet.w3, "evm_increaseTime", 2 * INTEREST_MARGIN_SECONDS)
    rpc(devnet.w3, "evm_mine")
    failed = outcome(collect(roomy.execute(plan_id, human_confirmed=True)))
    assert isinstance(failed, RunFailed) and failed.exit_code == 4, failed
    assert "the chain moved since the simulation" in failed.message
    assert "allowance is too low" in failed.message and "nothing was sent" in failed.message
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce
    assert account(devnet.w3, devnet.book, devnet.wallet).debt_usd >= debt


def test_chained_plan_uses_the_first_output(devnet, service) -> None:
    before = bal(devnet, "USDC")
    events = run(service, "swap 1 ETH to USDC then supply it to aave")
    done(events)
    (position,) = account(devnet.w3, devnet.book, devnet.wallet).positions
    swapped = next(e for e in events if isinstance(e, SimulationDone)).steps[0].deltas["USDC"]
    assert position.symbol == "USDC" and position.supplied == swapped
    assert bal(devnet, "USDC") == before


def test_approvals_are_exact_and_return_to_zero(devnet, service) -> None:
    events = run(service, "swap 1000 usdc for dai")
    approvals = [e for e in events if isinstance(e, TxSent) and "approve" in e.label]
    assert [a.label for a in approvals] == [
        "approve Uniswap's SwapRouter02 to spend exactly 1000 USDC"
    ]
    done(events)
    router = devnet.book.uniswap_v3.swap_router02
    assert allowance(devnet.w3, token(devnet.w3, devnet.book, "USDC"), devnet.wallet, router) == 0


def test_a_plan_approves_what_it_spends_even_where_an_allowance_covers_it(devnet, service) -> None:
    """Another plan's approval, not yet used, covers this plan's supply: this plan still makes
    its own, so the other's supply using up that allowance first leaves this one whole (two
    `do --yes` at once reverted, exit 4, when one was built between the other's approval and
    its supply)."""
    usdc, pool = token(devnet.w3, devnet.book, "USDC"), devnet.book.aave_v3.pool
    send(devnet.w3, devnet.wallet, "erc20", usdc.address, "approve", pool, 100 * 10**6)
    plan_id = propose(service, "supply 100 USDC to aave")[-1].plan_id
    send(
        devnet.w3,
        devnet.wallet,
        "aave_pool",
        pool,
        "supply",
        usdc.address,
        100 * 10**6,
        devnet.wallet,
        0,
    )
    assert allowance(devnet.w3, usdc, devnet.wallet, pool) == 0  # the other plan's, used up

    events = collect(service.execute(plan_id, human_confirmed=True))

    done(events)
    labels = [e.label for e in events if isinstance(e, TxSent)]
    assert labels == ["approve Aave's Pool to spend exactly 100 USDC", "supply 100 USDC to Aave V3"]
    (position,) = account(devnet.w3, devnet.book, devnet.wallet).positions
    assert position.supplied == 200


def test_dry_run_changes_nothing(devnet, service) -> None:
    w3 = devnet.w3
    before = (
        w3.eth.block_number,
        w3.eth.get_transaction_count(devnet.wallet),
        bal(devnet, "ETH"),
        bal(devnet, "USDC"),
    )
    events = propose(service, "swap 1 ETH to USDC then supply it to aave and borrow 100 DAI")
    plan_id = events[-1].plan_id
    dry = service.discard(plan_id, dry_run=True)
    assert dry is not None and dry.status == "dry_run" and dry.deltas["DAI"] == Decimal(100)
    after = (
        w3.eth.block_number,
        w3.eth.get_transaction_count(devnet.wallet),
        bal(devnet, "ETH"),
        bal(devnet, "USDC"),
    )
    assert before == after
    assert service.journal.plan(plan_id).status == "dry_run"


def test_amount_above_balance_is_bad_input(devnet, service) -> None:
    result = outcome(run(service, "supply 60000 usdc to aave"))
    assert (
        isinstance(result, RunFailed)
        and result.exit_code == 2
        and result.code == "insufficient_balance"
    )
    assert "the wallet holds 50,000" in result.message


def test_an_amount_finer_than_the_token_is_refused_not_rounded(devnet, service) -> None:
    """USDC has 6 decimals: 1.1234567 USDC was sent as 1.123456, a card saying 1.1234567."""
    result = outcome(run(service, "supply 1.1234567 usdc to aave"))
    assert isinstance(result, RunFailed) and (result.code, result.exit_code) == (
        "invalid_amount",
        2,
    )
    assert "1.1234567 USDC has more decimals than USDC's 6" in result.message
    assert "round it to 6 decimals" in result.message
    done(run(service, "supply 1.123456 usdc to aave"))


@pytest.mark.parametrize(
    ("request_text", "said"),
    [
        ("repay half of my dai debt", "you owe no DAI on Aave V3"),
        ("withdraw 50% of my usdc from aave", "you have no USDC supplied on Aave V3"),
        ("supply half my weth to aave", "you have no WETH in the wallet"),
        ("repay all my wbtc", "you owe no WBTC on Aave V3"),
        ("repay 100% of my dai debt", "you owe no DAI on Aave V3"),
        ("withdraw all my dai", "you have no DAI supplied on Aave V3"),
    ],
)
def test_a_share_of_nothing_says_what_there_is_none_of(
    devnet, service, request_text: str, said: str
) -> None:
    """A percentage of a debt, position or balance that is zero said "the amount of DAI comes to
    zero", which reads like a rounding problem; all of one was Aave's revert, exit 4 (QA)."""
    result = outcome(run(service, request_text))
    assert isinstance(result, RunFailed) and (result.code, result.exit_code) == (
        "invalid_amount",
        2,
    )
    assert result.message == said


def test_policy_denial_sends_nothing(devnet, service) -> None:
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
    result = outcome(run(service, "swap 2 ETH for USDC"))
    assert isinstance(result, RunFailed) and result.exit_code == 3
    assert "above the 5,000.00 USD cap" in result.message
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce


def test_a_plan_decided_before_a_new_session_is_not_signed_under_the_old_one(
    devnet, service
) -> None:
    """A card shown, then `/session new yield-only` (no swaps), then y: the swap was signed by
    the superseded default session, past the policy the user had just chosen."""
    done(run(service, "swap 0.01 ETH for DAI"))  # the default session is started
    card = propose(service, "swap 0.02 ETH for DAI")[-1]
    assert card.allowed
    said = asyncio.run(service.command("/session", ("new", "yield-only")))
    assert "yield-only" in said
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)

    late = outcome(collect(service.execute(card.plan_id, human_confirmed=True)))

    assert isinstance(late, RunFailed) and late.exit_code == 3
    assert "was started since this plan was decided" in late.message
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce
    again = outcome(run(service, "swap 0.02 ETH for DAI"))
    assert isinstance(again, RunFailed) and "swap is not allowed" in again.message


def test_an_unknown_session_command_is_named(devnet, service) -> None:
    """`/session foo` showed the session's status as if nothing was wrong."""
    with pytest.raises(BadInput, match="unknown /session command 'foo'"):
        asyncio.run(service.command("/session", ("foo",)))


def test_health_factor_floor_blocks_a_risky_borrow(devnet, service) -> None:
    done(run(service, "supply 1 eth to aave"))
    result = outcome(run(service, "borrow 1800 usdc"))
    assert isinstance(result, RunFailed) and result.exit_code == 3
    assert "health factor 1.38 after borrow is below the policy's 1.5" in result.message


def test_two_cards_for_the_last_of_the_allowance(devnet, service) -> None:
    """Two plans shown side by side, each within the 10,000 USD a day when shown: the second is
    denied when it is about to be signed, because the first spent the allowance meanwhile, and
    nothing of it is sent or reserved."""
    big = "swap 1.6 ETH for USDC"
    done(run(service, big))
    first, second = (propose(service, big)[-1] for _ in range(2))
    assert first.allowed and second.allowed
    done(collect(service.execute(first.plan_id, human_confirmed=True)))
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
    late = outcome(collect(service.execute(second.plan_id, human_confirmed=True)))
    assert isinstance(late, RunFailed) and late.exit_code == 3
    assert "denied by policy when about to sign" in late.message and "left" in late.message
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce
    assert service.journal.plan(second.plan_id).status == "denied"
    assert all(t.authorization is None for t in service.journal.txs(second.plan_id))


def test_a_token_window_shows_what_is_left_of_it(devnet, service) -> None:
    """yield-only's 40,000 USDC a day was on the card, but never in the chat's answer, the
    sidebar or the MCP session: they showed USD windows alone."""
    asyncio.run(service.command("/session", ("new", "yield-only")))
    done(run(service, "supply 100 usdc to aave"))

    said = asyncio.run(service.answer("how much can I still spend?"))

    assert said is not None
    assert "- per 24h: 100 USDC used, 39,900 USDC left of 40,000 USDC" in said
    assert "- per 24h: $100.00 used, $49,900.00 left of $50,000.00" in said
    console = Console(width=32, record=True, file=io.StringIO())
    console.print(sidebar(asyncio.run(service.snapshot())))
    assert "per 24h: 100 / 40,000 USDC" in console.export_text()


def test_what_fits_is_named_in_the_token_asked_for(devnet, service) -> None:
    """ "supply 2 ETH" above the cap suggested "at most 1.666 WETH": the ETH is wrapped first."""
    result = outcome(run(service, "supply 2 ETH to aave"))
    assert isinstance(result, RunFailed) and result.exit_code == 3
    assert "at most 1.666 ETH fits the session's limits now" in result.message


def test_the_per_transaction_cap_is_shown_beside_the_windows(devnet, service) -> None:
    """A 6,000 USD swap is denied by the default session's 5,000 USD cap a transaction, though
    the day's 10,000 USD has room: the answer and the sidebar showed the windows alone."""
    said = asyncio.run(service.answer("how much can I still spend?"))

    assert said is not None
    assert "- per transaction: at most $5,000.00\n- per 24h: $0.00 used" in said
    console = Console(width=32, record=True, file=io.StringIO())
    console.print(sidebar(asyncio.run(service.snapshot())))
    assert "per transaction: ≤ $5,000" in console.export_text()


def test_the_health_floor_is_checked_on_the_simulation_made_again(devnet, service) -> None:
    """A borrow decided at health factor 1.66, then 0.5 WETH of its collateral withdrawn by
    another plan before it was executed: simulated again as the chain moved, it was signed on
    the old health factor and left the position at 1.14, under the default policy's 1.5."""
    done(run(service, "supply 1.6 eth to aave"))
    borrow = propose(service, "borrow 2400 usdc")[-1].plan_id
    done(run(service, "withdraw 0.5 weth from aave"))
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)

    failed = collect(service.execute(borrow, human_confirmed=True))[-1]

    assert isinstance(failed, RunFailed) and failed.exit_code == 3, failed
    assert "after borrow is below the policy's 1.5" in failed.message
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("how much usdc can i withdraw?", "I cannot answer that from the chain; I answer"),
        ("what should I do with my eth", "I cannot answer that from the chain; I answer"),
        ("can i swap on curve?", "curve is not supported here"),  # its own reason stays
        ("hello there", "I don't understand 'hello there'"),  # not a question
    ],
)
def test_a_question_no_rule_reads_is_told_what_is_answered(service, text: str, said: str) -> None:
    """QA: "how much usdc can i withdraw?" got "I don't understand …: start each step with
    swap, buy, sell…", an answer to a request, not to a question."""
    (failed,) = propose(service, text)
    assert isinstance(failed, RunFailed) and failed.code == "unsupported", failed
    assert failed.message.startswith(said), failed.message
