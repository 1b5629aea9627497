"""Between the plan the user saw and the moment it is signed, the chain may move. The service
simulates the same transactions again when blocks were mined: it goes ahead when the outcome is
as shown (within the slippage bound) and refuses, sending nothing, when it is worse."""

from __future__ import annotations

from decimal import Decimal

from agent.events import PolicyDecision, RunDone, RunFailed
from agent.verify import worse
from tests.chain.helpers import send
from tests.execution.conftest import collect, propose
from tests.strategies.kit import set_oracle_price
from tools.chain.plain import rpc

OTHER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
"""anvil's second account: another trader on the same pool."""


def _another_trader_sells_eth(devnet, wei: int) -> None:
    """Another trader swaps ``wei`` of ETH into the WETH/USDC pool, moving its price."""
    book = devnet.book
    params = (book.token("WETH"), book.token("USDC"), 500, OTHER, wei, 0, 0)
    send(
        devnet.w3,
        OTHER,
        "swap_router02",
        book.uniswap_v3.swap_router02,
        "exactInputSingle",
        params,
        value=wei,
    )


def _proposed(service, text: str) -> str:
    decision = propose(service, text)[-1]
    assert isinstance(decision, PolicyDecision) and decision.allowed, decision
    return decision.plan_id


def test_blocks_mined_without_a_price_change_still_execute(service, devnet) -> None:
    plan_id = _proposed(service, "swap 1 ETH for USDC")
    for _ in range(3):
        rpc(devnet.w3, "evm_mine")

    outcome = collect(service.execute(plan_id, human_confirmed=True))[-1]

    assert isinstance(outcome, RunDone) and outcome.status == "done", outcome


def test_a_price_moved_against_the_plan_is_refused_before_signing(service, devnet) -> None:
    w3 = devnet.w3
    plan_id = _proposed(service, "swap 1 ETH for USDC")
    nonce = w3.eth.get_transaction_count(devnet.wallet)
    _another_trader_sells_eth(devnet, 500 * 10**18)  # dumps 500 ETH into the pool

    outcome = collect(service.execute(plan_id, human_confirmed=True))[-1]

    assert isinstance(outcome, RunFailed), outcome
    assert outcome.exit_code == 4
    assert "the chain moved since the simulation" in outcome.message
    assert "less than the slippage bound allows" in outcome.message  # the decoded revert
    assert "nothing was sent" in outcome.message
    assert w3.eth.get_transaction_count(devnet.wallet) == nonce
    assert service.journal.plan(plan_id).status == "failed"
    # refused before the grant: the default session was not even started, nothing was reserved
    assert service.authorizer.status().state == "not started"


def test_a_swap_then_supply_executes_after_a_small_price_move(service, devnet) -> None:
    """The plan nets 0 USDC; another trader's small swap moves the price a little, well inside
    the 50 bps bound: the plan still executes (it was refused, its tolerance taken of 0 USDC)."""
    plan_id = _proposed(service, "swap 0.1 ETH to USDC then supply it to aave")
    _another_trader_sells_eth(devnet, 10**16)

    outcome = collect(service.execute(plan_id, human_confirmed=True))[-1]

    assert isinstance(outcome, RunDone) and outcome.status == "done", outcome


def test_only_a_worse_outcome_beyond_the_bound_counts(service) -> None:
    ctx = service.chain_context()
    shown = {"USDC": -1_000 * 10**6, "DAI": 995 * 10**18, "ETH": -(10**14)}

    better = {"USDC": -1_000 * 10**6, "DAI": 1_010 * 10**18, "ETH": -(10**14)}
    within = {"USDC": -1_000 * 10**6, "DAI": 991 * 10**18, "ETH": -3 * 10**14}
    beyond = {"USDC": -1_000 * 10**6, "DAI": 980 * 10**18, "ETH": -(10**14)}

    assert worse(ctx, [shown], [better], 50, fees=0) == ()
    assert worse(ctx, [shown], [within], 50, fees=2 * 10**14) == ()  # DAI -0.4 %, ETH in fees
    assert worse(ctx, [shown], [beyond], 50, fees=0) == ("DAI +995 -> +980",)


def test_the_bound_is_of_what_the_steps_move_not_the_net_change(service) -> None:
    """A swap then a supply of its output nets 0 USDC: a swap 0.01 % worse than shown is within
    the bound (it was refused, with a tolerance of 0), 1 % worse is not."""
    ctx = service.chain_context()
    supply = {"USDC": -300 * 10**6}
    shown = [{"ETH": -(10**17), "USDC": 300 * 10**6}, supply]
    a_little = [{"ETH": -(10**17), "USDC": 299_970_000}, supply]
    too_much = [{"ETH": -(10**17), "USDC": 297 * 10**6}, supply]

    assert worse(ctx, shown, a_little, 50, fees=0) == ()
    assert worse(ctx, shown, too_much, 50, fees=0) == ("USDC +0 -> -3",)


def test_the_policy_values_the_plan_at_the_oracle_price_of_the_signature(service, devnet) -> None:
    """Allowed at 3,000 USD an ETH when shown (4,800 USD, under the 5,000 USD cap); the oracle
    rises to 3,500 before it is signed, so the same 1.6 ETH is 5,600 USD: denied, nothing sent."""
    plan_id = _proposed(service, "swap 1.6 ETH for USDC")
    nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
    set_oracle_price(devnet, "WETH", Decimal(3500))

    outcome = collect(service.execute(plan_id, human_confirmed=True))[-1]

    assert isinstance(outcome, RunFailed) and outcome.exit_code == 3, outcome
    assert "5,600.00 USD in one transaction is above the 5,000.00 USD cap" in outcome.message
    assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce


class _ApprovesMidway:
    """The devnet's node, on which the wallet's other plan (another process) approves the Aave
    pool for 100 USDC just after this plan's preparation began: it is mined before the first
    state read this plan makes."""

    def __init__(self, devnet) -> None:
        self.devnet, self.provider, self.approved = devnet, self, False

    def make_request(self, method: str, params: list) -> dict:
        if method == "eth_call" and not self.approved:
            self.approved = True
            book = self.devnet.book
            usdc, pool = book.token("USDC"), book.aave_v3.pool
            send(self.devnet.w3, self.devnet.wallet, "erc20", usdc, "approve", pool, 100 * 10**6)
        return self.devnet.w3.provider.make_request(method, params)


def test_a_plan_is_built_from_one_blocks_state(devnet) -> None:
    """Two `do --yes` at once: one plan was built while the other executed, read the allowance
    the other had just approved, left its own approval out, and reverted once the other's supply
    used it up (exit 4, a CI flake). Every read of a preparation is at the block it began at."""
    from agent.preparer import prepare
    from tools.protocol import ChainContext

    node = _ApprovesMidway(devnet)
    ctx = ChainContext(node, devnet.book, devnet.wallet, now=0)
    step = {"action": "supply", "protocol": "aave-v3", "token": "USDC", "amount": "100"}

    prepared = prepare(ctx, [step])

    assert node.approved and prepared.ok
    labels = [c.label for c in prepared.steps[0].built.calls]
    assert labels == ["approve Aave's Pool to spend exactly 100 USDC", "supply 100 USDC to Aave V3"]
    assert prepared.block == devnet.w3.eth.block_number - 1
