"""Building blocks for policy tests: a hand-made address book, real calldata encoded with the
protocols' ABIs, and simulated outcomes as the simulator would report them."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

from eth_abi import encode
from web3 import Web3

from agent.db import connect
from policies.engine import Decision, PolicyEngine
from policies.sessions import Session, SessionStore
from tools.chain.addressbook import AaveV3Book, AddressBook, UniswapV3Book
from tools.tx import Call, SimulatedCall


def addr(n: int) -> str:
    return Web3.to_checksum_address(f"0x{n:040x}")


WALLET = addr(0xA11CE)
STRANGER = addr(0xBAD)
BOOK = AddressBook(
    profile="local",
    chain_id=31337,
    tokens={"WETH": addr(0x1001), "USDC": addr(0x1002), "DAI": addr(0x1003), "WBTC": addr(0x1004)},
    uniswap_v3=UniswapV3Book(
        factory=addr(0x2001),
        swap_router02=addr(0x2002),
        quoter_v2=addr(0x2003),
        position_manager=addr(0x2004),
    ),
    aave_v3=AaveV3Book(
        pool_addresses_provider=addr(0x3001),
        pool=addr(0x3002),
        data_provider=addr(0x3003),
        oracle=addr(0x3004),
    ),
)
ROUTER, POOL = BOOK.uniswap_v3.swap_router02, BOOK.aave_v3.pool
PRICES = {
    "ETH": Decimal(3000),
    "WETH": Decimal(3000),
    "USDC": Decimal(1),
    "DAI": Decimal(1),
    "WBTC": Decimal(90000),
}
DECIMALS = {"ETH": 18, "WETH": 18, "USDC": 6, "DAI": 18, "WBTC": 8}
MAX = 2**256 - 1


def units(symbol: str, amount: str | int) -> int:
    return int(Decimal(str(amount)).scaleb(DECIMALS[symbol]))


def fn(signature: str, *args: object) -> bytes:
    types = signature.split("(", 1)[1][:-1]
    arg_types = _split(types) if types else []
    return Web3.keccak(text=signature)[:4] + encode(arg_types, list(args))


def _split(types: str) -> list[str]:
    out, depth, current = [], 0, ""
    for ch in types:
        if ch == "," and depth == 0:
            out.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    return [*out, current]


def approve(symbol: str, spender: str, amount: int) -> Call:
    return Call(BOOK.tokens[symbol], fn("approve(address,uint256)", spender, amount), 0, "approve")


def transfer(symbol: str, to: str, amount: int) -> Call:
    return Call(BOOK.tokens[symbol], fn("transfer(address,uint256)", to, amount), 0, "transfer")


def transfer_from(symbol: str, owner: str, to: str, amount: int) -> Call:
    return Call(
        BOOK.tokens[symbol],
        fn("transferFrom(address,address,uint256)", owner, to, amount),
        0,
        "transferFrom",
    )


def supply(symbol: str, amount: int, on_behalf: str = WALLET) -> Call:
    return Call(
        POOL,
        fn("supply(address,uint256,address,uint16)", BOOK.tokens[symbol], amount, on_behalf, 0),
        0,
        "supply",
    )


def borrow(symbol: str, amount: int, on_behalf: str = WALLET) -> Call:
    return Call(
        POOL,
        fn(
            "borrow(address,uint256,uint256,uint16,address)",
            BOOK.tokens[symbol],
            amount,
            2,
            0,
            on_behalf,
        ),
        0,
        "borrow",
    )


def withdraw(symbol: str, amount: int, to: str = WALLET) -> Call:
    return Call(
        POOL,
        fn("withdraw(address,uint256,address)", BOOK.tokens[symbol], amount, to),
        0,
        "withdraw",
    )


def path(*hops: object) -> bytes:
    out = b""
    for hop in hops:
        out += bytes.fromhex(str(hop)[2:]) if isinstance(hop, str) else int(hop).to_bytes(3, "big")
    return out


def exact_input(
    token_in: str, token_out: str, amount_in: int, min_out: int, recipient: str = WALLET
) -> bytes:
    return fn(
        "exactInput((bytes,address,uint256,uint256))",
        (path(BOOK.tokens[token_in], 500, BOOK.tokens[token_out]), recipient, amount_in, min_out),
    )


def multicall(*inner: bytes, value: int = 0) -> Call:
    return Call(ROUTER, fn("multicall(uint256,bytes[])", 2**40, list(inner)), value, "swap")


def sim(
    call: Call, deltas: dict[str, int] | None = None, fee_wei: int = 10**14, ok: bool = True
) -> SimulatedCall:
    return SimulatedCall(call, ok, 100_000, fee_wei, deltas or {}, None if ok else "reverted")


class Harness:
    """A real policy engine on a real SQLite file, with a movable clock."""

    def __init__(self, data_dir: Path) -> None:
        self.conn = connect(data_dir)
        self.store = SessionStore(self.conn, hashlib.sha256(b"test wallet key").digest())
        self.engine = PolicyEngine(self.conn, self.store, BOOK, WALLET)
        self.now = 1_000_000

    def session(self, policy_text: str, ttl: str | None = None) -> Session:
        return self.store.create(policy_text, "test.toml", None, ttl, BOOK.chain_id, self.now)

    def decide(
        self,
        session: Session,
        *pairs: tuple[Call, SimulatedCall],
        health: list[Decimal | None] | None = None,
    ) -> Decision:
        """The decision shown when a plan is proposed: nothing reserved."""
        calls = [c for c, _ in pairs]
        sims = [s for _, s in pairs]
        return self.engine.authorize(
            session, calls, sims, health or [None] * len(calls), PRICES, DECIMALS, self.now
        )

    def authorize(
        self,
        session: Session,
        *pairs: tuple[Call, SimulatedCall],
        health: list[Decimal | None] | None = None,
    ) -> Decision:
        """Decided, then granted as right before signing: decided again, reserved and signed."""
        decision = self.decide(session, *pairs, health=health)
        return self.engine.grant(session, decision, self.now, PRICES)

    def commit(self, decision: Decision) -> None:
        for grant in decision.grants:
            self.engine.settle(grant, spent=True)


def policy(**limits: object) -> str:
    """A permissive policy text with the given [limits] / extra sections."""
    lines = [
        'name = "test"',
        'ttl = "24h"',
        "[allow]",
        'actions = ["swap", "supply", "withdraw", "borrow", "repay", "wrap", "unwrap", "transfer"]',
        'protocols = ["uniswap-v3", "aave-v3"]',
        'tokens = ["ETH", "WETH", "USDC", "DAI", "WBTC"]',
        "[limits]",
        f"max_usd_per_tx = {limits.pop('max_usd_per_tx', 5000)}",
    ]
    windows = limits.pop("windows", [("usd", 10000, "24h")])
    extra = limits.pop("extra", "")
    for key, value in limits.items():
        lines.append(f"{key} = {value}")
    for kind, amount, period in windows:  # type: ignore[union-attr]
        lines.append("[[limits.windows]]")
        lines.append(
            f"{kind} = {amount}" if kind == "usd" else f'token = "{kind}"\namount = {amount}'
        )
        lines.append(f'period = "{period}"')
    return "\n".join(lines) + "\n" + str(extra)
