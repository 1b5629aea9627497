"""`defi-agent session new | list | show | revoke` and `defi-agent audit` as a user runs them: the
real CLI in a subprocess, on the devnet, with a real journal and ledger."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

from agent.db import DB_NAME
from tests.conftest import ROOT, imported, run_cli
from tests.strategies.kit import attach

DEFAULT = ROOT / "policies" / "default.toml"


def cli_json(*args: str, data_dir: Path) -> dict:
    result = run_cli(*args, "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_session_from_creation_to_revocation(devnet, tmp_path: Path) -> None:
    data_dir = attach(devnet, tmp_path / "data")
    created = cli_json(
        "session",
        "new",
        "--policy",
        str(DEFAULT),
        "--ttl",
        "2h",
        "--name",
        "trial",
        data_dir=data_dir,
    )
    assert (created["name"], created["state"], created["policy"]) == ("trial", "active", "default")
    assert created["expires_at"] - created["created_at"] == 7200

    listed = run_cli(
        "session", "list", "--json", data_dir=data_dir, env={"PYTHONPROFILEIMPORTTIME": "1"}
    )
    assert [s["id"] for s in json.loads(listed.stdout)] == [created["id"]]
    assert not imported(listed.stderr) & {"web3", "eth_account"}  # listing is quick

    assert run_cli("do", "swap 0.1 ETH for USDC", "--yes", data_dir=data_dir).returncode == 0
    shown = cli_json("session", "show", data_dir=data_dir)
    assert shown["id"] == created["id"] and shown["spent_usd"] == "300.00"
    assert shown["policy_text"] == DEFAULT.read_text()

    newer = cli_json("session", "new", "--ttl", "1h", data_dir=data_dir)
    superseded = cli_json("session", "show", created["id"], data_dir=data_dir)
    assert superseded["state"] == "superseded"  # it said active, as `list` did not
    assert cli_json("session", "show", data_dir=data_dir)["id"] == newer["id"]

    revoked = cli_json("session", "revoke", created["id"], data_dir=data_dir)
    assert revoked["state"] == "revoked"
    again = run_cli("session", "revoke", created["id"], data_dir=data_dir)
    assert again.returncode == 2 and "already revoked" in again.stderr
    missing = run_cli("session", "show", "nosuchsession", data_dir=data_dir)
    assert missing.returncode == 2 and "no session nosuchsession" in missing.stderr


def test_audit_verifies_and_names_what_was_tampered_with(devnet, tmp_path: Path) -> None:
    """A clean journal audits clean. One edited after the fact fails the audit (exit 3), which
    says how: a signed value changed, a recorded transaction changed, a transaction hash that
    leads to another transaction on the chain, a ledger that reserved another amount or does not
    count a confirmed transaction's spend."""
    data_dir = attach(devnet, tmp_path / "data")
    for amount in ("0.1", "0.2"):
        assert (
            run_cli("do", f"swap {amount} ETH for USDC", "--yes", data_dir=data_dir).returncode == 0
        )
    report = cli_json("audit", data_dir=data_dir)
    assert report["authorizations_checked"] == 2 and report["problems"] == []
    assert report["sessions"][0]["spent_usd"] == "900.00"

    db = sqlite3.connect(data_dir / DB_NAME, isolation_level=None)
    rows = db.execute(
        "SELECT rowid, value, authorization, tx_hash FROM txs ORDER BY rowid"
    ).fetchall()
    (first, value, authorization, tx_hash), (*_, other_hash) = rows

    def audited(sql: str, *params: object) -> str:
        db.execute(sql, params)
        result = run_cli("audit", data_dir=data_dir)
        assert result.returncode == 3
        db.execute(
            "UPDATE txs SET value = ?, authorization = ?, tx_hash = ? WHERE rowid = ?",
            (value, authorization, tx_hash, first),
        )
        return result.stdout

    grant = json.loads(authorization)
    grant["authorization"]["message"]["usdCents"] = 1
    changed = "UPDATE txs SET authorization = ? WHERE rowid = ?"
    assert "not signed by session" in audited(changed, json.dumps(grant), first)
    more = "UPDATE txs SET value = ? WHERE rowid = ?"
    assert "the transaction recorded is not the one authorised" in audited(
        more, str(int(value) + 1), first
    )
    elsewhere = "UPDATE txs SET tx_hash = ? WHERE rowid = ?"
    assert f"the chain's transaction {other_hash} is not the one authorised" in audited(
        elsewhere, other_hash, first
    )
    reservation = json.loads(authorization)["reservation"]
    db.execute("UPDATE reservations SET usd_cents = 1 WHERE id = ?", (reservation,))
    ledger = run_cli("audit", data_dir=data_dir)
    assert ledger.returncode == 3
    assert "the ledger reserved 0.01 USD, the authorisation signed 300.00 USD" in ledger.stdout
    assert "; 1 session; 1 problem\n" in ledger.stdout  # QA: "1 problems"
    db.execute("UPDATE reservations SET usd_cents = 30000 WHERE id = ?", (reservation,))
    db.execute("UPDATE reservations SET status = 'released' WHERE id = ?", (reservation,))
    uncounted = run_cli("audit", data_dir=data_dir)
    assert uncounted.returncode == 3
    assert "was confirmed but the ledger has its spend released, so it is not counted" in (
        uncounted.stdout
    )
    as_json = run_cli("audit", "--json", data_dir=data_dir)  # one document: it printed two
    assert as_json.returncode == 3
    assert "so it is not counted" in json.loads(as_json.stdout)["problems"][0]


ANVIL_ACCOUNT_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
"""The devnet's second funded account: another wallet key."""


def test_a_session_started_with_another_wallet_key_is_not_this_wallets(
    devnet, tmp_path: Path
) -> None:
    """QA: a session started with another key in the same data directory became the one in
    effect: every rule passed on the plan, then signing failed with "belongs to another wallet
    key". It is listed as "other key", and this wallet's plans start its own session."""
    data_dir = attach(devnet, tmp_path / "data")
    other = {"DEFI_AGENT_PRIVATE_KEY": ANVIL_ACCOUNT_1}
    started = run_cli("session", "new", "--ttl", "1h", "--json", data_dir=data_dir, env=other)
    assert started.returncode == 0, started.stderr
    theirs = json.loads(started.stdout)["id"]

    done = run_cli("do", "wrap 0.01 eth", "--yes", data_dir=data_dir)

    assert done.returncode == 0, done.stdout + done.stderr
    listed = {
        r["id"]: r["state"]
        for r in json.loads(run_cli("session", "list", "--json", data_dir=data_dir).stdout)
    }
    assert listed.pop(theirs) == "other key"
    assert list(listed.values()) == ["active"]  # the default session this wallet started
    mine = {
        r["id"]: r["state"]
        for r in json.loads(
            run_cli("session", "list", "--json", data_dir=data_dir, env=other).stdout
        )
    }
    assert mine[theirs] == "active"  # and for the other key, the other way round


def test_a_data_directory_from_before_strategy_sessions_still_works(devnet, tmp_path: Path) -> None:
    """Sessions stored before sessions could belong to a strategy run are listed and used."""
    data_dir = attach(devnet, tmp_path / "data")
    with sqlite3.connect(data_dir / DB_NAME) as db:
        db.execute(
            "CREATE TABLE sessions (id TEXT PRIMARY KEY, name TEXT NOT NULL, policy_text TEXT NOT"
            " NULL, address TEXT NOT NULL, keystore TEXT NOT NULL, chain_id INTEGER NOT NULL,"
            " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER)"
        )
        db.execute(
            "INSERT INTO sessions VALUES ('old', 'old', ?, '0x0', '{}', 31337, 0, 1, NULL)",
            (DEFAULT.read_text(),),
        )
    listed = run_cli("session", "list", "--json", data_dir=data_dir)
    assert listed.returncode == 0, listed.stderr
    assert [(s["id"], s["state"], s["strategy"]) for s in json.loads(listed.stdout)] == [
        ("old", "expired", None)
    ]
    assert run_cli("session", "new", data_dir=data_dir).returncode == 0
    assert run_cli("do", "swap 0.1 ETH for USDC", "--yes", data_dir=data_dir).returncode == 0


def test_a_revoked_or_expired_session_stops_the_agent_until_a_new_one(
    devnet, tmp_path: Path
) -> None:
    """The first plan executed starts the default session; questions and dry runs start nothing.
    Once the session in effect is revoked or has expired, nothing is signed (exit 3, saying how to
    go on): no fresh default session, nor an older session still active, takes its place."""
    data_dir = attach(devnet, tmp_path / "data")
    swap = ("do", "swap 0.1 ETH for USDC", "--yes")

    asked = run_cli("do", "how much can I still spend?", data_dir=data_dir)
    assert asked.returncode == 0, asked.stderr
    assert "No session yet" in asked.stdout and "$10,000.00 left" in asked.stdout
    assert run_cli("do", "swap 0.1 ETH for USDC", "--dry-run", data_dir=data_dir).returncode == 0
    assert cli_json("session", "list", data_dir=data_dir) == []
    listed = run_cli("session", "list", data_dir=data_dir).stdout
    assert listed == "no sessions yet: the first plan executed starts the default one\n"
    none = run_cli("session", "revoke", data_dir=data_dir)
    assert none.returncode == 2 and "there is no session for your own requests yet" in none.stderr

    assert run_cli(*swap, data_dir=data_dir).returncode == 0
    (started,) = cli_json("session", "list", data_dir=data_dir)
    assert (started["state"], started["policy"]) == ("active", "default")
    shown = cli_json("session", "show", started["id"][:5], data_dir=data_dir)  # an id's start
    assert shown["id"] == started["id"]
    assert shown["windows"] == [
        {"window": "10,000 USD per 24h", "used": "300.00 USD", "left": "9,700.00 USD"}
    ]  # 0.1 ETH at the oracle's 3,000 USD
    assert cli_json("session", "revoke", data_dir=data_dir)["state"] == "revoked"
    denied = run_cli(*swap, data_dir=data_dir)
    assert denied.returncode == 3
    assert "the session was revoked; start a new one" in denied.stderr
    assert "defi-agent session new" in denied.stderr
    assert [s["id"] for s in cli_json("session", "list", data_dir=data_dir)] == [started["id"]]

    wide = cli_json("session", "new", data_dir=data_dir)  # the default policy, 24 h
    assert wide["policy"] == "default" and wide["expires_at"] - wide["created_at"] == 86400
    narrow = cli_json(
        "session",
        "new",
        "--policy",
        "dca-bot",  # a shipped policy, by name
        "--ttl",
        "1h",
        data_dir=data_dir,
    )
    assert run_cli("chain", "warp", "2h", data_dir=data_dir).returncode == 0
    expired = run_cli(*swap, data_dir=data_dir)
    assert expired.returncode == 3 and "the session has expired" in expired.stderr
    listed = cli_json("session", "list", data_dir=data_dir)
    assert [(s["id"], s["state"]) for s in listed] == [
        (narrow["id"], "expired"),
        (wide["id"], "superseded"),  # unexpired, but the newer session is the one in effect
        (started["id"], "revoked"),
    ]


def test_with_only_a_strategy_runs_session_show_points_to_it(devnet, tmp_path: Path) -> None:
    """A strategy run's session is its own, never the one in effect for the chat and the CLI:
    `session show` says so and how to see it (it said "there is no session yet")."""
    data_dir = attach(devnet, tmp_path / "data")
    strategy = tmp_path / "once.yaml"
    strategy.write_text(
        "name: once\nsession: {policy: default, ttl: 1h}\nsteps:\n  - intent: wrap 0.01 eth\n"
    )
    assert run_cli("run", str(strategy), data_dir=data_dir).returncode == 0

    shown = run_cli("session", "show", data_dir=data_dir)
    assert shown.returncode == 2
    assert "there is no session for your own requests yet" in shown.stderr
    assert "strategy runs have sessions of their own (1: `defi-agent session list`" in shown.stderr
    (own,) = cli_json("session", "list", data_dir=data_dir)
    assert cli_json("session", "show", own["id"], data_dir=data_dir)["strategy"] == str(strategy)


WINDOWED = """\
name = "windowed"
ttl = "24h"
[allow]
actions = ["swap"]
protocols = ["uniswap-v3"]
tokens = ["ETH", "WETH", "USDC"]
[limits]
max_usd_per_tx = 5000
[[limits.windows]]
usd = 1000
period = "1h"
[[limits.windows]]
token = "USDC"
amount = 1500
period = "1h"
[[limits.windows]]
token = "WETH"
amount = 1
period = "1h"
"""


def test_audit_counts_each_window_as_the_engine_did(devnet, tmp_path: Path) -> None:
    """Within a 1,000 USD an hour window, 600 then 600 an hour apart audits clean, and still does
    when the chain's clock is behind them, as after `chain reset` (it said 1,200 USD within the
    window, exit 3).
    A reservation moved back into the hour of the other, or more USDC than a token window
    allows, fails the audit (it checked USD windows alone, at the chain's time now). `session
    show` counts ETH sent in a WETH window, as the engine does."""
    data_dir = attach(devnet, tmp_path / "data")
    policy = tmp_path / "windowed.toml"
    policy.write_text(WINDOWED)
    cli_json("session", "new", "--policy", str(policy), data_dir=data_dir)
    assert run_cli("do", "swap 0.2 ETH for USDC", "--yes", data_dir=data_dir).returncode == 0
    weth = cli_json("session", "show", data_dir=data_dir)["windows"][2]  # QA: it showed 0 used
    assert weth == {"window": "1 WETH per 1h", "used": "0.2 WETH", "left": "0.8 WETH"}
    assert run_cli("chain", "warp", "61m", data_dir=data_dir).returncode == 0
    assert run_cli("do", "swap 0.2 ETH for USDC", "--yes", data_dir=data_dir).returncode == 0
    assert cli_json("audit", data_dir=data_dir)["problems"] == []

    db = sqlite3.connect(data_dir / DB_NAME, isolation_level=None)
    (first, created), (_, later) = db.execute(
        "SELECT id, created_at FROM reservations WHERE usd_cents > 0 ORDER BY id"
    ).fetchall()
    db.execute("UPDATE reservations SET created_at = ? WHERE id = ?", (later - 60, first))
    moved = run_cli("audit", data_dir=data_dir)
    assert moved.returncode == 3 and "within 1,000 USD per 1h" in moved.stdout, moved.stdout
    db.execute("UPDATE reservations SET created_at = ? WHERE id = ?", (created, first))

    db.execute("UPDATE reservations SET tokens = ? WHERE id = ?", ('{"USDC": 2000000000}', first))
    tokens = run_cli("audit", data_dir=data_dir)
    assert tokens.returncode == 3 and "2000 USDC within 1,500 USDC per 1h" in tokens.stdout
    db.execute("UPDATE reservations SET tokens = '{}' WHERE id = ?", (first,))

    # as after `chain reset` (which would stop the devnet other tests share): both reservations
    # ahead of the chain's clock
    db.execute("UPDATE reservations SET created_at = created_at + 30 * 86400")
    assert cli_json("audit", data_dir=data_dir)["problems"] == []


def test_a_sessions_lifetime_is_shown_whole(devnet, tmp_path: Path) -> None:
    """`--ttl 90m` showed "lifetime 1 h", `--ttl 59s` "lifetime 0 min"."""
    data_dir = attach(devnet, tmp_path / "data")
    lifetimes = (
        ("90m", "lifetime 1 h 30 min,"),
        ("59s", "lifetime 59 s,"),
        ("52w", "lifetime 364 d,"),  # QA: "8736 h"
        ("50h", "lifetime 2 d 2 h,"),
    )
    for ttl, shown in lifetimes:
        created = run_cli("session", "new", "--ttl", ttl, data_dir=data_dir)
        assert created.returncode == 0 and shown in created.stdout, created.stdout


def test_audit_names_a_session_edited_since_it_was_created(devnet, tmp_path: Path) -> None:
    """A widened policy, an expiry moved out: `audit` said 0 problems. A session made before
    sessions were sealed is listed as such, not as a problem."""
    data_dir = attach(devnet, tmp_path / "data")
    created = cli_json("session", "new", "--ttl", "2h", data_dir=data_dir)
    db = sqlite3.connect(data_dir / DB_NAME, isolation_level=None)
    (text,) = db.execute("SELECT policy_text FROM sessions").fetchone()
    db.execute("UPDATE sessions SET policy_text = ?", (text.replace("5000", "5000000"),))

    edited = run_cli("audit", data_dir=data_dir)
    assert edited.returncode == 3
    assert f"session {created['id']}: its policy or lifetime is not what its key signed" in (
        edited.stdout
    )
    denied = run_cli("do", "swap 0.1 ETH for USDC", "--yes", data_dir=data_dir)
    assert denied.returncode == 3 and "it signs nothing" in denied.stderr

    db.execute("UPDATE sessions SET policy_text = ?, charter = NULL", (text,))
    report = cli_json("audit", data_dir=data_dir)
    assert report["problems"] == [] and report["unsealed"] == [created["id"]]


def test_session_show_says_what_was_spent_as_amounts_are_written(devnet, tmp_path: Path) -> None:
    """QA: "spent 9800.00 USD in 1 transactions", beside windows written "5,000.00 USD"."""
    data_dir = attach(devnet, tmp_path / "data")
    assert run_cli("do", "swap 0.5 ETH for USDC", "--yes", data_dir=data_dir).returncode == 0
    one = run_cli("session", "show", data_dir=data_dir)
    assert one.returncode == 0 and "spent 1,500.00 USD in 1 transaction (" in one.stdout, one.stdout
    assert run_cli("do", "supply 100 USDC to aave", "--yes", data_dir=data_dir).returncode == 0
    three = run_cli("session", "show", data_dir=data_dir).stdout
    assert "spent 1,600.00 USD in 3 transactions (approvals are transactions too)" in three
    assert cli_json("session", "show", data_dir=data_dir)["spent_usd"] == "1600.00"


def test_session_show_says_what_is_left_of_the_lifetime_cap_and_the_transactions(
    devnet, tmp_path: Path
) -> None:
    """QA: `session show` said neither what was left of `lifetime_usd` nor of `max_txs`, the
    limits a user of such a policy checks; only a denial did."""
    data_dir = attach(devnet, tmp_path / "data")
    policy = tmp_path / "capped.toml"
    policy.write_text(
        'name = "capped"\n[allow]\nactions = ["swap"]\nprotocols = ["uniswap-v3"]\n'
        'tokens = ["ETH", "WETH", "USDC"]\n[limits]\nmax_usd_per_tx = 5000\nlifetime_usd = 4000\n'
        "max_txs = 5\n"
    )
    assert run_cli("session", "new", "--policy", str(policy), data_dir=data_dir).returncode == 0
    assert run_cli("do", "swap 0.5 ETH for USDC", "--yes", data_dir=data_dir).returncode == 0

    shown = run_cli("session", "show", data_dir=data_dir).stdout
    row = cli_json("session", "show", data_dir=data_dir)

    assert "lifetime cap 4,000 USD: 1,500.00 USD used, 2,500.00 USD left" in shown, shown
    assert "transactions: 1 of 5 used, 4 left" in shown
    assert row["lifetime"] == {
        "cap": "4,000.00 USD",
        "used": "1,500.00 USD",
        "left": "2,500.00 USD",
    }
    assert row["max_txs"] == {"cap": 5, "used": 1, "left": 4}


def test_session_show_says_when_it_expires_on_the_chains_clock(devnet, tmp_path: Path) -> None:
    """QA: after `chain warp 25h`, a 72 h session "expires 2026-12-09 05:51 (local time)": the
    wall clock's date, beside a chain whose clock `chain warp` had just said was a day ahead."""
    data_dir = attach(devnet, tmp_path / "data")
    created = cli_json("session", "new", "--ttl", "72h", data_dir=data_dir)
    assert run_cli("chain", "warp", "25h", data_dir=data_dir).returncode == 0

    shown = run_cli("session", "show", data_dir=data_dir, env={"TZ": "UTC"})

    expires = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(created["expires_at"]))
    assert f", at {expires} on the chain's clock" in shown.stdout, shown.stdout
    assert re.search(r"expires in (46 h 59 min|47 h),", shown.stdout), shown.stdout
