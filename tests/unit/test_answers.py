"""Questions answered from a snapshot of the chain: what is asked gets its number, and what is not
a question about the wallet is left to the planner."""

from __future__ import annotations

import dataclasses
import io
import time
from decimal import Decimal as D

import pytest
from rich.console import Console

from agent.answers import answer, looks_like_question
from agent.errors import BadInput
from agent.seams import SessionStatus, SpendWindow
from agent.snapshot import Snapshot
from agent.tui.sidebar import render
from policies.model import load_policy
from tests.conftest import ROOT
from tools.aave_v3.reads import Account, Position, Reserve
from tools.portfolio import Holding, Portfolio

PRICES = {"ETH": D(3000), "WETH": D(3000), "USDC": D(1), "DAI": D(1), "WBTC": D(90000)}
AAVE = Account(
    (
        Position("WETH", D(2), D(0), 2 * 10**18, 0, True),
        Position("DAI", D(0), D(1500), 0, 1, False),
    ),
    collateral_usd=D(6000),
    debt_usd=D(1500),
    available_borrow_usd=D(3000),
    health_factor=D("3.28"),
)
WALLET = Portfolio(
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    31337,
    7,
    (Holding("ETH", D(10), D(30000)), Holding("USDC", D(500), D(500))),
    AAVE,
    PRICES,
)
DAY = SpendWindow("per 24h", D(3000), D(10000))
ACTIVE = SessionStatus("abc123", "default", "default", time.time() + 7200, False, (DAY,))
GAS_PRICE = 1_500_000_000
UNSTARTED = SessionStatus("", "default", "default", time.time() + 86400, False, (DAY,))


def snapshot(session: SessionStatus = ACTIVE) -> Snapshot:
    return Snapshot(WALLET, (), session, "local", GAS_PRICE)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what's the price of eth?", "ETH is **$3,000.00** (Aave V3's oracle)."),
        ("wbtc price?", "WBTC is **$90,000.00** (Aave V3's oracle)."),
        ("what's the price of ETH in DAI?", "1 ETH is **3,000 DAI**"),  # not $3,000.00
        ("price of wbtc in terms of eth?", "1 WBTC is **30 ETH**"),
        ("what's the price of eth in usd?", "ETH is **$3,000.00** (Aave V3's oracle)."),
        ("how much is 2 eth in usdc?", "2 ETH is **6,000 USDC**"),
        ("what's my net worth?", "**$35,000.00**: wallet $30,500.00, Aave V3 collateral $6,000.00"),
        ("what are my aave positions?", "- DAI: supplied 0, borrowed 1,500"),
        ("how much can I still spend?", "- per 24h: $3,000.00 used, $7,000.00 left of $10,000.00"),
        ("what's my health factor?", "**3.28**"),
        ("am I at risk of liquidation?", "**3.28** (liquidation below 1.00)"),  # QA: not known
        ("am i close to liquidation", "**3.28** (liquidation below 1.00)"),  # no "?"
        ("is my loan safe from liquidation", "**3.28** (liquidation below 1.00)"),
        ("what's my LTV?", "debt $1,500.00 (loan-to-value 25.0%)"),
        ("show my history", "**/journal** in the chat, `defi-agent journal` in a shell"),
        ("how much usdc do i have?", "You have **500 USDC** ($500.00)."),
        ("help", "I also answer questions about balances"),
        ("how much DAI do I owe?", "- DAI: supplied 0, borrowed 1,500"),  # not the wallet's DAI
        ("how much have I supplied to aave?", "- WETH: supplied 2, borrowed 0"),
        ("what is my health factor if I borrow 1000 USDC?", "I answer from the chain as it is"),
        ("what's my balance?", "| USDC | 500 | $500.00 |"),
        ("how much is 1 ETH worth?", "1 ETH is worth **$3,000.00**"),
        ("what's the supply APY for USDC?", "| reserve | supply APY | borrow APY |"),
        ("what is the borrow rate on DAI", "| reserve | supply APY | borrow APY |"),
        ("what can I earn on dai?", "| reserve | supply APY | borrow APY |"),  # QA
        ("how much would I make by lending usdc?", "| reserve | supply APY | borrow APY |"),
        ("how much would I earn if I supply 1000 usdc?", "I answer from the chain as it is"),
        # the README's own wording, and others that were "I don't understand"
        ("what are aave's rates?", "| reserve | supply APY | borrow APY |"),
        ("show me aave's rates", "| reserve | supply APY | borrow APY |"),
        ("aave rates", "| reserve | supply APY | borrow APY |"),
        ("liquidation thresholds", "| utilisation | liquidation threshold |"),  # QA
        ("what's weth's liquidation threshold on aave?", "| liquidation threshold |"),
        ("price of bitcoin", "WBTC is **$90,000.00**"),
        ("what's my DAI debt?", "- DAI: supplied 0, borrowed 1,500"),
        # about Aave, not the wallet (it answered with the wallet's balance)
        ("how much DAI do I have borrowed?", "- DAI: supplied 0, borrowed 1,500"),
        ("how much WETH do I have in aave?", "- WETH: supplied 2, borrowed 0"),
        ("how much weth do i have supplied", "- WETH: supplied 2, borrowed 0"),
        # were "I don't understand"
        ("how much can I borrow?", "Aave V3 would lend **$3,000.00** more against your"),
        ("how much DAI can I still borrow", "Aave V3 would lend **$3,000.00** more"),
        ("how much can I borrow in usdc?", "Aave V3 would lend **$3,000.00** more"),  # QA
        ("what's my wallet worth?", "**$35,000.00**: wallet $30,500.00"),  # QA
        ("what's my ETH worth?", "You have **10 ETH** ($30,000.00)."),
        ("how much is my usdc worth?", "You have **500 USDC** ($500.00)."),
    ],
)
def test_a_question_gets_its_answer(question: str, expected: str) -> None:
    assert looks_like_question(question)
    reply = answer(question, snapshot())
    assert reply is not None and expected in reply


def test_before_the_first_plan_the_session_is_described_as_it_will_start() -> None:
    reply = answer("what's my allowance?", snapshot(UNSTARTED))
    assert reply is not None
    assert reply.startswith("No session yet: the first plan you confirm starts the **default**")
    revoked = SessionStatus("abc123", "default", "default", time.time() + 60, True, (DAY,))
    said = str(answer("session?", snapshot(revoked)))
    assert "was revoked: nothing is signed until you start a new one" in said
    assert "`defi-agent session new` in a shell" in said  # QA: the CLI's answer named /session


def test_the_portfolio_has_what_the_sidebar_shows() -> None:
    """QA: below 100 columns, /portfolio stands in for the hidden sidebar, which showed each
    position's APY and the net worth: /portfolio had neither."""
    reserves = (
        Reserve("WETH", D("0.0123"), D("0.031"), D("0.4"), D(100), D(40)),
        Reserve("DAI", D("0.02"), D("0.0456"), D("0.5"), D(100), D(50)),
    )
    said = str(answer("/portfolio", Snapshot(WALLET, reserves, ACTIVE, "local", GAS_PRICE)))
    assert "- WETH: supplied 2, borrowed 0 (earning 1.23% APY)" in said
    assert "- DAI: supplied 0, borrowed 1,500 (paying 4.56% APY)" in said
    assert "Your net worth is **$35,000.00**" in said


def test_the_session_answer_names_every_limit_a_plan_can_meet() -> None:
    """QA: `/session` said the USD cap and the windows only; the 2,000 DAI cap, the health
    floor of 2, the confirmation threshold and the allowed tokens were first met in denials.
    Transactions used are counted against `max_txs`."""
    policy = load_policy(ROOT / "policies" / "examples" / "cautious-borrower.toml")
    policy = policy.model_copy(
        update={
            "limits": policy.limits.model_copy(update={"max_txs": 20, "max_fee_eth": D("0.01")})
        }
    )
    status = dataclasses.replace(ACTIVE, transactions=3, parsed=policy)
    said = str(answer("how much can I still spend?", snapshot(status)))
    lines = said.splitlines()
    assert "- per transaction: at most $3,000.00, 2,000 DAI, 2,000 USDC" in lines
    assert "- slippage: at most 0.5% (0.3% when a request names none)" in lines
    assert "- health factor after a borrow or withdraw: at least 2.0" in lines
    assert "- plans above $1,000.00 need your confirmation" in lines
    assert "- network fee: at most 0.01 ETH a transaction" in lines
    assert "- transactions: 3 of 20 used" in lines
    assert (
        "- allows supply, withdraw, borrow, repay, swap, wrap, unwrap on aave-v3, uniswap-v3, "
        "with ETH, WETH, USDC, DAI"
    ) in lines


@pytest.mark.parametrize(
    "question", ["what's the gas price?", "gwei?", "how much are network fees"]
)
def test_the_gas_price_is_told_per_unit_and_for_a_swap_sized_transaction(question: str) -> None:
    said = str(answer(question, snapshot()))
    assert said.startswith("Gas costs **1.5 gwei** a unit on this chain now"), said
    assert (
        "100,000 gas, about what a swap or an Aave supply uses, costs 0.00015 ETH ($0.45)" in said
    )
    assert "The session allows" not in said  # ACTIVE's policy is not read: no cap to tell


def test_a_tiny_gas_price_is_not_told_as_zero() -> None:
    """A fork of a quiet chain, or anvil right after a state load, charges a fraction of a gwei."""
    said = str(answer("gas price?", dataclasses.replace(snapshot(), gas_price_wei=2340)))
    assert said.startswith("Gas costs **0.00000234 gwei** a unit"), said
    assert "costs 0.000000000234 ETH" in said


@pytest.mark.parametrize(
    "question", ["price of dogecoin?", "how much is 2 doge in usdc?", "how much is 2 eth in pepe?"]
)
def test_a_price_of_a_token_not_on_the_chain_names_the_ones_that_are(question: str) -> None:
    with pytest.raises(BadInput) as raised:
        answer(question, snapshot())
    assert raised.value.code == "unknown_token"
    assert raised.value.one_line().startswith("I don't know the token '")
    assert raised.value.one_line().endswith("(Aave V3's oracle prices ETH, WETH, USDC, DAI, WBTC)")


@pytest.mark.parametrize(
    "text", ["what's the weather?", "what's the price of a swap?", "swap 1 eth to usdc?"]
)
def test_what_is_not_about_the_wallet_is_not_answered(text: str) -> None:
    assert answer(text, snapshot()) is None


def test_requests_do_not_look_like_questions() -> None:
    assert not looks_like_question("swap 1 eth to usdc then supply it to aave")
    assert not looks_like_question("repay my dai loan")
    assert not looks_like_question("supply 100 usdc to aave")
    assert not looks_like_question("supply usdc while the supply rate is above 3%")


def with_aave(session: SessionStatus = ACTIVE, **changes: object) -> Snapshot:
    """The snapshot with its Aave account changed by ``changes``."""
    aave = dataclasses.replace(AAVE, **changes)
    return Snapshot(dataclasses.replace(WALLET, aave=aave), (), session, "local", GAS_PRICE)


@pytest.mark.parametrize(
    ("health", "shown"),
    [
        ("3.5569", "**3.55**"),  # QA: the card and the sidebar said 3.55, the answer 3.56
        ("901660330.52", "**over 1,000**"),  # QA: a debt repaid down to dust
    ],
)
def test_the_health_factor_is_shown_as_everywhere_else(health: str, shown: str) -> None:
    said = str(answer("what's my health factor?", with_aave(health_factor=D(health))))
    assert f"health factor is {shown}" in said


def test_a_question_about_interest_gets_the_positions_and_their_rates() -> None:
    """QA: after /warp 30d, "how much interest have I earned?" was "I don't understand"."""
    rates = (
        Reserve("WETH", D("0.021"), D("0.035"), D("0.5"), D(100), D(50)),
        Reserve("DAI", D("0.03"), D("0.0512"), D("0.6"), D(100), D(60)),
    )
    with_rates = Snapshot(WALLET, rates, ACTIVE, "local", GAS_PRICE)
    said = str(answer("how much interest have I earned?", with_rates))
    assert "- WETH: supplied 2 at 2.10% APY" in said
    assert "- DAI: borrowed 1,500 at 5.12% APY" in said
    assert "interest included" in said
    assert answer("earn yield on my USDC at low risk", with_rates) is None  # a request


def test_how_much_can_i_borrow_says_what_the_sessions_health_floor_allows() -> None:
    """QA: "the session's policy allows less", and not how much: a borrow of 800 was denied."""
    policy = load_policy(ROOT / "policies" / "default.toml")
    capped = policy.limits.model_copy(update={"max_usd_per_tx": D(1000)})
    floored = dataclasses.replace(ACTIVE, parsed=policy.model_copy(update={"limits": capped}))
    snapshot = with_aave(floored, liquidation_threshold=D("0.82"))
    said = str(answer("how much can I borrow?", snapshot))
    assert "Aave V3 would lend **$3,000.00** more" in said
    # 6000 x 0.82 / 1.5 - 1500
    assert "at or above 1.5 after a borrow: that allows about **$1,780.00** now" in said
    assert "$1,000.00" not in said  # QA: it named the USD cap, which a borrow is not held to


def test_how_much_can_i_withdraw_names_what_keeps_the_health_floor() -> None:
    """QA: "how much usdc can i withdraw?" was answered with the list of what the agent answers.
    With 1,500 DAI of debt against 2 WETH (threshold 82%): (6000 x 0.8199 - floor x 1500) /
    (0.82 x 3000) WETH keeps the floor, the weighted threshold counted a basis point lower, as
    Aave may round it down after the withdraw (QA: the amount named came to 1.4999); all of it
    without debt; a position that backs no debt, or the pool's liquidity, bounds it otherwise."""
    floored = dataclasses.replace(ACTIVE, parsed=load_policy(ROOT / "policies" / "default.toml"))
    reserves = (Reserve("WETH", D("0.02"), D("0.03"), D("0.4"), D(100), D(40), D("0.82")),)
    aave = dataclasses.replace(AAVE, liquidation_threshold=D("0.82"))
    snapshot = Snapshot(
        dataclasses.replace(WALLET, aave=aave), reserves, floored, "local", GAS_PRICE
    )

    said = str(answer("how much WETH can I withdraw?", snapshot))
    assert "- WETH: supplied 2; Aave allows about 1.39 WETH (health factor 1)" in said
    assert "the session's policy about **1.085 WETH** (it keeps the health factor at or" in said
    assert said == str(answer("how much eth could i withdraw from aave?", snapshot))
    assert "no DAI supplied" in str(answer("how much dai can I withdraw?", snapshot))

    free = dataclasses.replace(aave, debt_usd=D(0), health_factor=None)
    alone = Snapshot(dataclasses.replace(WALLET, aave=free), reserves, floored, "local", GAS_PRICE)
    assert "**2 WETH** can be withdrawn (no debt)" in str(answer("how much can i withdraw?", alone))

    lent = (Reserve("WETH", D("0.02"), D("0.03"), D("0.99"), D(100), D("99.5"), D("0.82")),)
    drained = Snapshot(dataclasses.replace(WALLET, aave=free), lent, floored, "local", GAS_PRICE)
    assert "(the pool lends out the rest: 0.5 is there to withdraw); **0.5 WETH** can" in str(
        answer("how much can i withdraw?", drained)
    )
    with pytest.raises(BadInput, match="I don't know the token 'foo'"):
        answer("how much foo can I withdraw?", snapshot)


def test_the_sidebar_fits_its_balances_in_its_width() -> None:
    """QA: the sidebar showed "USDC 51,499.1750…", cut at its 30 columns."""
    held = (
        Holding("ETH", D("99.000435123"), D("297001.31")),
        Holding("USDC", D("51499.175012"), D("51499.18")),
    )
    console = Console(width=30, record=True, file=io.StringIO())
    console.print(
        render(Snapshot(dataclasses.replace(WALLET, holdings=held), (), ACTIVE, "local", GAS_PRICE))
    )
    shown = console.export_text()
    assert "USDC 51,499.17 $51,499.18" in " ".join(shown.split()), shown
    assert "ETH 99.0004 $297,001.31" in " ".join(shown.split()), shown
    assert "…" not in shown
