"""Ways policy engines were bypassed in audits of Zodiac Roles, Smart Sessions and signer
policies, each denied here with a clear reason."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from policies.sessions import SessionStore
from tests.policy.kit import (
    BOOK,
    POOL,
    ROUTER,
    STRANGER,
    WALLET,
    Harness,
    addr,
    approve,
    borrow,
    exact_input,
    fn,
    multicall,
    path,
    policy,
    sim,
    supply,
    transfer,
    transfer_from,
    units,
    withdraw,
)
from tools.tx import Call


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def reason(h: Harness, *calls: Call, text: str | None = None) -> dict[str, str]:
    decision = h.authorize(h.session(text or policy()), *[(c, sim(c)) for c in calls])
    assert not decision.allowed
    assert decision.grants == ()
    return {v.rule: v.message for v in decision.verdicts if not v.allowed}


def test_approval_to_an_unknown_spender(h: Harness) -> None:
    assert reason(h, approve("USDC", STRANGER, 100))["approvals.exact"] == (
        f"approval of USDC to {STRANGER} (an address outside the protocols), which the policy "
        "does not allow"
    )


def test_unlimited_approval(h: Harness) -> None:
    why = reason(h, approve("USDC", POOL, 2**256 - 1), supply("USDC", 10))["approvals.exact"]
    assert "unlimited approval" in why


def test_approval_larger_than_what_is_spent(h: Harness) -> None:
    why = reason(h, approve("USDC", POOL, units("USDC", 1000)), supply("USDC", units("USDC", 10)))[
        "approvals.exact"
    ]
    assert "more than the batch spends" in why


def test_transfer_from(h: Harness) -> None:
    why = reason(h, transfer_from("USDC", STRANGER, WALLET, 10))["actions.allowed"]
    assert "transferFrom is never allowed" in why


def test_swap_paying_someone_else(h: Harness) -> None:
    swap = multicall(exact_input("WETH", "USDC", 10**18, 1, recipient=STRANGER))
    assert (
        f"pays out to {STRANGER}"
        in reason(h, approve("WETH", ROUTER, 10**18), swap)["recipients.allowed"]
    )


def test_transfer_to_an_address_not_allowed(h: Harness) -> None:
    assert (
        "which the policy does not allow"
        in reason(h, transfer("USDC", STRANGER, 10))["recipients.allowed"]
    )


def test_eth_sent_to_an_eoa(h: Harness) -> None:
    why = reason(h, Call(STRANGER, b"", 10**18, "send ETH"))["recipients.allowed"]
    assert why.startswith("ETH sent to")


def test_eth_sent_to_a_malformed_address_is_denied_not_a_crash(h: Harness) -> None:
    why = reason(h, Call("0xnot-an-address", b"", 10**18, "send ETH"))["recipients.allowed"]
    assert why == "ETH sent to 0xnot-an-address, which the policy does not allow"


def test_eth_sent_to_a_lower_case_wallet_is_sent_to_the_wallet(h: Harness) -> None:
    """Addresses are compared checksummed: the wallet written in lower case is still the wallet."""
    s = h.session(policy())
    call = Call(WALLET.lower(), b"", 10**15, "send ETH to myself")
    assert h.decide(s, (call, sim(call))).allowed


def test_call_to_a_contract_outside_the_address_book(h: Harness) -> None:
    rogue = Call(addr(0xDEAD), fn("transfer(address,uint256)", STRANGER, 10), 0, "rogue")
    assert "outside the address book" in reason(h, rogue)["calls.known"]


def test_unknown_selector_on_a_token(h: Harness) -> None:
    mint = Call(
        h.engine.book.tokens["USDC"], fn("mint(address,uint256)", WALLET, 10**12), 0, "mint"
    )
    assert "function 0x40c10f19 on token:USDC" in reason(h, mint)["calls.known"]


def test_a_length_word_too_large_for_memory_is_denied_not_a_crash(h: Harness) -> None:
    """A review found eth_abi raising OverflowError, not a DecodingError, on a length word above
    the largest index (2**64 for a swap's path): the decision crashed instead of denying."""
    data = bytearray(exact_input("USDC", "DAI", 10**6, 1))
    data[4 + 5 * 32 : 4 + 6 * 32] = (2**64).to_bytes(32, "big")  # the path's length
    why = reason(h, multicall(bytes(data)), Call(ROUTER, bytes(data), 0, "swap"))["calls.known"]
    assert why.count("function 0xb858183f on uniswap-v3:swap_router02") == 2, why


def test_a_session_another_wallet_key_started_is_neither_in_effect_nor_authorising(
    h: Harness,
) -> None:
    """QA: a session started in the same data directory with another wallet key became the one
    in effect for this wallet; every rule passed on the card, and signing then failed."""
    other = SessionStore(h.conn, hashlib.sha256(b"another wallet key").digest())
    theirs = other.create(policy(), "test.toml", None, None, BOOK.chain_id, h.now)
    assert h.store.latest(BOOK.chain_id) is None and other.latest(BOOK.chain_id) == theirs
    ours = h.session(policy())
    assert h.store.latest(BOOK.chain_id) == ours and other.latest(BOOK.chain_id) == theirs

    call = Call(WALLET, b"", 10**15, "send ETH to myself")
    denied = h.decide(theirs, (call, sim(call)))
    assert {v.rule: v.message for v in denied.violations}["session.active"].startswith(
        "the session was started with another wallet key: it signs nothing for this wallet"
    )
    assert h.decide(ours, (call, sim(call))).allowed


def test_batch_hiding_a_forbidden_call(h: Harness) -> None:
    hidden = fn("sweepToken(address,uint256,address)", h.engine.book.tokens["USDC"], 0, STRANGER)
    swap = multicall(exact_input("WETH", "USDC", 10**18, 1), hidden)
    why = reason(h, approve("WETH", ROUTER, 10**18), swap)
    assert f"pays out to {STRANGER}" in why["recipients.allowed"]
    unknown = multicall(
        fn(
            "selfPermit(address,uint256,uint256,uint8,bytes32,bytes32)",
            WALLET,
            1,
            1,
            27,
            b"\0" * 32,
            b"\0" * 32,
        )
    )
    assert "outside the address book" in reason(h, unknown)["calls.known"]


def test_supply_on_behalf_of_someone_else(h: Harness) -> None:
    amount = units("USDC", 10)
    assert (
        "not the wallet"
        in reason(h, approve("USDC", POOL, amount), supply("USDC", amount, on_behalf=STRANGER))[
            "recipients.allowed"
        ]
    )


def test_many_small_steps_still_hit_the_daily_allowance(h: Harness) -> None:
    """Each piece is under the per-transaction cap; together they are above the window."""
    s = h.session(policy(max_usd_per_tx=5000, windows=[("usd", 10000, "24h")]))
    pieces = [transfer("USDC", WALLET, units("USDC", 999)) for _ in range(11)]
    decision = h.authorize(s, *[(c, sim(c)) for c in pieces])
    assert not decision.allowed
    assert any(v.rule == "spend.window.24h" and not v.allowed for v in decision.verdicts)


def test_protocol_not_allowed(h: Harness) -> None:
    text = policy().replace('protocols = ["uniswap-v3", "aave-v3"]', 'protocols = ["aave-v3"]')
    swap = multicall(exact_input("WETH", "USDC", 10**18, 1))
    approval = approve("WETH", ROUTER, 10**18)
    said = reason(h, approval, swap, text=text)
    assert said["protocols.allowed"] == "uniswap-v3 is not an allowed protocol"
    assert said["approvals.exact"] == (  # whose contract it is, not a bare address
        f"approval of WETH to {ROUTER} (uniswap-v3's contract), which the policy does not allow"
    )


def test_token_not_allowed(h: Harness) -> None:
    text = policy().replace('tokens = ["ETH", "WETH", "USDC", "DAI", "WBTC"]', 'tokens = ["USDC"]')
    assert "WBTC" in reason(h, transfer("WBTC", WALLET, 1), text=text)["tokens.allowed"]


def test_eth_allowed_without_weth_says_why_weth_is_needed(h: Harness) -> None:
    text = policy().replace(
        'tokens = ["ETH", "WETH", "USDC", "DAI", "WBTC"]', 'tokens = ["ETH", "USDC"]'
    )
    swap = multicall(exact_input("WETH", "USDC", 10**18, 1), value=10**18)
    why = reason(h, swap, text=text)["tokens.allowed"]
    assert why == (
        "tokens not allowed by the policy: WETH (Uniswap and Aave take ETH as WETH: allow WETH too)"
    )


def test_a_swap_into_a_token_outside_the_book_names_its_address(h: Harness) -> None:
    odd = addr(0xD0D0CACA)
    swap = multicall(
        fn(
            "exactInput((bytes,address,uint256,uint256))",
            (path(BOOK.tokens["USDC"], 500, odd), WALLET, 10**6, 1),
        )
    )
    why = reason(h, approve("USDC", ROUTER, 10**6), swap)["tokens.allowed"]
    assert why == f"tokens not allowed by the policy: {odd}"


SWEEP = "sweepToken(address,uint256,address)"


@pytest.mark.parametrize(
    ("calls", "outside"),
    [
        ((multicall(exact_input("USDC", "WBTC", 10**6, 1)),), "WBTC"),
        ((multicall(exact_input("WBTC", "USDC", 10**6, 1)),), "WBTC"),
        ((approve("DAI", ROUTER, 10**18),), "DAI"),
        ((borrow("WBTC", 10**6),), "WBTC"),
        ((withdraw("DAI", 10**18),), "DAI"),
        ((multicall(exact_input("WETH", "USDC", 10**6, 1), value=10**6),), "ETH"),
        ((multicall(fn(SWEEP, BOOK.tokens["DAI"], 0, WALLET)),), "DAI"),
    ],
    ids=["swap-output", "swap-input", "approve", "borrow", "withdraw", "eth-paid", "sweep"],
)
def test_every_token_a_call_touches_is_checked(
    h: Harness, calls: tuple[Call, ...], outside: str
) -> None:
    """Only USDC and WETH are allowed: a token that enters the batch anywhere else is named."""
    text = policy().replace(
        'tokens = ["ETH", "WETH", "USDC", "DAI", "WBTC"]', 'tokens = ["USDC", "WETH"]'
    )
    why = reason(h, *calls, text=text)["tokens.allowed"]
    assert why == f"tokens not allowed by the policy: {outside}"
