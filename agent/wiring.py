"""Build the real collaborators of the core service from the settings: the one place that knows
which parser, policy engine and signer are in use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strategies.tokens import DEFAULT_SYMBOLS

if TYPE_CHECKING:
    from agent.intents.rules import GoalPlanner, Plan
    from agent.service import AgentService
    from tools.chain.addressbook import AddressBook


def _recorded_chain(data_dir: Path) -> dict[str, Any]:
    """The running chain's record (read without importing web3); empty when none is recorded."""
    try:
        record = json.loads((data_dir / "chain.json").read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def known_symbols(data_dir: Path) -> tuple[str, ...]:
    """The tokens of the running chain's address book, or the devnet's when no chain is
    recorded."""
    book = _recorded_chain(data_dir).get("book")
    return ("ETH", *book["tokens"]) if book else DEFAULT_SYMBOLS


def default_slippage_bps(data_dir: Path, policy_file: Path | None) -> int:
    """The slippage a plan gets when its request names none, as `do` plans it: the default of
    the session in effect (the newest that is not a strategy run's, on the recorded chain), as
    stored with it, else of the policy the default session will have. Read without the chain,
    web3 or pydantic (`plan` answers in a fraction of their import time), and without parsing
    TOML: a session in effect stores it, and a policy file's is kept (`agent.policy_defaults`)."""
    from agent import policy_defaults
    from agent.datadir import DB_NAME
    from policies import DEFAULT_POLICY

    text = None
    database = data_dir / DB_NAME
    if database.is_file():
        import sqlite3

        chain_id = _recorded_chain(data_dir).get("chain_id")
        on_chain = ("AND chain_id = ?", (chain_id,)) if chain_id is not None else ("", ())
        query = (
            f"SELECT * FROM sessions WHERE strategy IS NULL {on_chain[0]} "
            "ORDER BY rowid DESC LIMIT 1"
        )
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
                db.row_factory = sqlite3.Row
                row = db.execute(query, on_chain[1]).fetchone()
        except sqlite3.Error:  # no sessions table yet
            row = None
        stored = dict(row) if row is not None else {}
        if stored.get("default_slippage_bps") is not None:  # None: a session from before it
            return int(stored["default_slippage_bps"])
        text = stored.get("policy_text")
    if text is None:
        text = (policy_file or DEFAULT_POLICY).read_text()
    return policy_defaults.default_slippage_bps(text)


class ChainMarkets:
    """Live supply APY and utilisation from the chain, for goal strategies."""

    def __init__(self, url: str, book: object) -> None:
        from tools.chain.plain import Client

        self.w3 = Client(url)
        self.book = book

    def supply_market(self, protocol: str, token: str):
        from strategies.goals import Market
        from tools.aave_v3.reads import reserve

        if protocol != "aave-v3":
            return None
        r = reserve(self.w3, self.book, token)  # type: ignore[arg-type]
        return Market(r.supply_apy, r.utilisation)


def build_service(
    *,
    url: str,
    book: AddressBook,
    data_dir: Path,
    key: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    policy_file: Path | None = None,
) -> AgentService:
    """The core service on the chain at ``url``: rule or LLM parser, policy gate, signer, journal."""
    import hashlib

    from agent.db import connect as connect_db
    from agent.intents.planner import IntentPlanner, make_parser
    from agent.intents.rules import ParseContext
    from agent.journal import Journal
    from agent.policy_gate import PolicyGate
    from agent.service import AgentService
    from agent.signer import Signer
    from policies.engine import PolicyEngine
    from policies.sessions import SessionStore
    from strategies.goals import plan_yield
    from tools.aave_v3.reads import account
    from tools.chain.plain import Client
    from tools.chain.running import DEVNET_KEY
    from tools.protocol import ChainContext

    w3 = Client(url)
    key = key or DEVNET_KEY
    conn = connect_db(data_dir)
    sessions = SessionStore(conn, hashlib.sha256(bytes.fromhex(key.removeprefix("0x"))).digest())
    signer = Signer(w3, key, sessions, book.chain_id)
    wallet = signer.address
    gate = PolicyGate(w3, book, PolicyEngine(conn, sessions, book, wallet), sessions, policy_file)
    markets = ChainMarkets(url, book)

    def slippage() -> int:
        return gate.policy().slippage.default_bps

    def positions() -> tuple[tuple[str, ...], tuple[str, ...]]:
        held = account(w3, book, wallet).positions
        return (
            tuple(p.symbol for p in held if p.supplied_raw),
            tuple(p.symbol for p in held if p.borrowed_raw),
        )

    context = ParseContext(
        symbols=book.symbols,
        default_slippage_bps=slippage(),
        goals=lambda t, a, r, i: plan_yield(t, a, r, i, markets),
        positions=positions,
    )
    return AgentService(
        context=lambda: ChainContext(w3, book, wallet, now=gate.now()),
        journal=Journal(data_dir),
        planner=IntentPlanner(make_parser(model, base_url, context), context, slippage),
        authorizer=gate,
        signer=signer,
        planners=lambda spec: IntentPlanner(
            make_parser(spec, base_url, context), context, slippage
        ),
    )


def goal_planner(data_dir: Path) -> GoalPlanner:
    """Plans goal intents with live rates when a chain is up, by tier otherwise."""

    def plan(token: str, amount: str | None, risk: str, intent: str) -> Plan:
        from agent.errors import ChainUnavailable
        from strategies.goals import plan_yield
        from tools.chain.running import status

        try:
            chain = status(data_dir)
        except ChainUnavailable:  # hung: planned by tier, as without a chain
            chain = None
        reader = ChainMarkets(chain.url, chain.book) if chain is not None else None
        return plan_yield(token, amount, risk, intent, reader)

    return plan
