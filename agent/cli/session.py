"""`defi-agent session new | list | show | revoke` and `defi-agent audit`."""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal
from functools import partial
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Sessions: a policy frozen at creation, a key of their own, an expiry.",
    no_args_is_help=True,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _store() -> tuple[Any, Any, Any]:
    """The session store, the engine's ledger and the chain clock of the data directory's chain."""
    import hashlib

    from agent.cli.context import chain_config, notify, settings, wallet_key
    from agent.db import connect
    from policies.ledger import Ledger
    from policies.sessions import SessionStore
    from tools.chain.plain import Client, clock
    from tools.chain.running import DEVNET_KEY, ensure

    chain = ensure(chain_config(), notify)
    client = Client(chain.url)
    s = settings()
    key = wallet_key() or DEVNET_KEY
    conn = connect(s.data_dir)
    store = SessionStore(conn, hashlib.sha256(bytes.fromhex(key.removeprefix("0x"))).digest())
    return store, Ledger(conn), (chain, lambda: clock(client)[1])


def _describe(
    session: Any, now: int, superseded: bool = False, foreign: bool = False
) -> dict[str, Any]:
    """``superseded``: a newer session of the chat and the CLI is in effect; ``foreign``: another
    wallet key started it (it is never in effect for this wallet)."""
    state = (
        "revoked"
        if session.revoked_at is not None
        else "void"
        if session.void_at(now)
        else "expired"
        if now >= session.expires_at
        else "other key"
        if foreign
        else "superseded"
        if superseded
        else "active"
    )
    return {
        "id": session.id,
        "name": session.name,
        "policy": session.policy.name,
        "address": session.address,
        "chain_id": session.chain_id,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "state": state,
        "strategy": session.strategy,
    }


def _print(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(rows if len(rows) != 1 else rows[0]) + "\n")
        return
    for row in rows:
        lifetime = _lifetime(max(0, row["expires_at"] - row["created_at"]))
        owner = f", for {row['strategy']}" if row["strategy"] else ""
        typer.echo(
            f"{row['id']}  {row['state']:<10} {row['name']} (policy {row['policy']}{owner}), lifetime {lifetime}, key {row['address']}"
        )


def _lifetime(seconds: int) -> str:
    """90 min is "1 h 30 min", not "1 h"; 59 s is "59 s", not "0 min"; from two days on, days
    and hours ("364 d", not "8736 h")."""
    days, rest = divmod(seconds, 86400) if seconds >= 2 * 86400 else (0, seconds)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts.append(f"{minutes} min" if minutes and not days else "")
    parts.append(f"{secs} s" if secs and not hours and not days else "")
    return " ".join(p for p in parts if p) or "0 s"


@app.command()
def new(
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            help="A policy file (TOML), or a shipped policy's name (dca-bot, yield-only, "
            "cautious-borrower); default: the default session's policy.",
        ),
    ] = None,
    ttl: Annotated[
        str | None, typer.Option("--ttl", help="Lifetime, e.g. 24h or 7d (default: the policy's).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name to recognise it by.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Start a session under a policy file; it supersedes the sessions before it."""
    from agent.cli.context import settings
    from agent.errors import BadInput
    from policies.model import DEFAULT_POLICY, find_policy, load_policy

    if name is not None and (not name.strip() or not name.isprintable()):
        raise BadInput(  # QA: a newline split `session list`, an escape coloured the terminal
            f"--name {name!r}: a name is one line of printable text",
            hint="letters, digits, spaces and punctuation",
        )
    path = find_policy(policy) if policy else settings().policy or DEFAULT_POLICY
    load_policy(path)
    store, _, (chain, now) = _store()
    session = store.create(path.read_text(), str(path), name, ttl, chain.chain_id, now())
    _print([_describe(session, now())], as_json)


@app.command("list")
def list_sessions(as_json: JsonFlag = False) -> None:
    """Every session, newest first: the newest of the chat and the CLI is the one in effect
    (older ones still unexpired are superseded); a strategy's own serves its run alone."""
    store, _, (chain, now) = _store()
    t = now()
    latest = store.latest(chain.chain_id)
    in_effect = latest.id if latest is not None else None
    rows = [
        _describe(
            s,
            t,
            s.strategy is None and s.chain_id == chain.chain_id and s.id != in_effect,
            not store.owns(s.id),
        )
        for s in store.all()
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
    elif not rows:
        typer.echo("no sessions yet: the first plan executed starts the default one")
    else:
        _print(rows, False)


@app.command()
def show(
    session_id: Annotated[
        str | None, typer.Argument(help="Default: the session in effect.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """A session's policy, state and spend."""
    from agent.audit import dollars

    store, ledger, (chain, now) = _store()
    t = now()
    session = _chosen(store, chain.chain_id, session_id)
    row = _describe(
        session, t, store.superseded_by(session) is not None, not store.owns(session.id)
    )
    usage = ledger.usage(session.id, t, session.policy.limits.window_seconds)
    row["spent_usd"] = dollars(usage.lifetime_usd_cents)  # reserved or committed, as counted
    row["transactions"] = usage.txs
    row["windows"] = _windows(session, usage, chain)
    limits = session.policy.limits
    if limits.lifetime_usd_cents is not None:  # QA: said by no command but a denial
        used = usage.lifetime_usd_cents
        left = max(0, limits.lifetime_usd_cents - used)
        row["lifetime"] = {
            "cap": f"{limits.lifetime_usd_cents / 100:,.2f} USD",
            "used": f"{used / 100:,.2f} USD",
            "left": f"{left / 100:,.2f} USD",
        }
    if limits.max_txs is not None:
        row["max_txs"] = {
            "cap": limits.max_txs,
            "used": usage.txs,
            "left": max(0, limits.max_txs - usage.txs),
        }
    row["policy_text"] = session.policy_text
    if as_json:
        sys.stdout.write(json.dumps(row) + "\n")
        return
    _print([row], False)
    expires = time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(session.expires_at))
    n = row["transactions"]
    lines = [
        f"spent {Decimal(row['spent_usd']):,} USD in {_count(n, 'transaction')}"
        " (approvals are transactions too)"
    ]
    lines += [f"{w['window']}: {w['used']} used, {w['left']} left" for w in row["windows"]]
    if "lifetime" in row:
        cap = f"{limits.lifetime_usd:,} USD"
        lines.append(
            f"lifetime cap {cap}: {row['lifetime']['used']} used, {row['lifetime']['left']} left"
        )
    if "max_txs" in row:
        txs = row["max_txs"]
        lines.append(f"transactions: {txs['used']} of {limits.max_txs} used, {txs['left']} left")
    left = _lifetime(max(0, session.expires_at - t))
    active = f"expires in {left}, at {expires} on the chain's clock (`chain warp` moves it)"
    lines.append(active if row["state"] == "active" else row["state"])
    typer.echo("\n".join(lines) + f"\n\n{session.policy_text}")


def _windows(session: Any, usage: Any, chain: Any) -> list[dict[str, str]]:
    """What each of the session's rolling allowances has used and has left now."""
    from policies.rules import one_asset
    from tools.chain.plain import Client
    from tools.erc20.reads import token

    client = Client(chain.url)
    out = []
    for window in session.policy.limits.windows:
        if window.usd_cents is not None:
            used = usage.usd_cents_since.get(window.seconds, 0)
            left = max(0, window.usd_cents - used)
            what = (f"{used / 100:,.2f} USD", f"{left / 100:,.2f} USD")
        else:
            tok = token(client, chain.book, str(window.token))
            raw = one_asset(usage.tokens_since.get(window.seconds, {}), tok.symbol)
            left = max(0, tok.to_raw(window.amount) - raw)
            what = (f"{tok.show(raw)} {tok.symbol}", f"{tok.show(left)} {tok.symbol}")
        out.append({"window": window.label, "used": what[0], "left": what[1]})
    return out


@app.command()
def revoke(
    session_id: Annotated[
        str | None, typer.Argument(help="Default: the session in effect.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke a session: nothing more is signed under it, its reservations are void, and nothing
    is signed for the chat and the CLI until a new session is started."""
    store, _, (chain, now) = _store()
    session = store.revoke(_chosen(store, chain.chain_id, session_id).id, now())
    _print([_describe(session, now())], as_json)


def _chosen(store: Any, chain_id: int, session_id: str | None) -> Any:
    """The session named (by its id or the start of it), else the one in effect for the chat
    and the CLI."""
    from agent.errors import BadInput

    if session_id:
        matches = store.starting_with(session_id)
        if len(matches) > 1:
            raise BadInput(
                f"{session_id!r} is the start of {len(matches)} sessions' ids",
                hint="give more of the id (`defi-agent session list`)",
            )
        session = matches[0] if matches else None
    else:
        session = store.latest(chain_id)
    if session is None and session_id:
        raise BadInput(f"no session {session_id}")
    if session is None:
        runs = [s for s in store.all() if s.strategy is not None and s.chain_id == chain_id]
        hint = "the first plan you execute starts the default session"
        if runs:
            hint += (
                f"; strategy runs have sessions of their own ({len(runs)}: `defi-agent session "
                "list`, then `session show ID`)"
            )
        raise BadInput("there is no session for your own requests yet", hint=hint)
    return session


def audit(as_json: JsonFlag = False) -> None:
    """Re-verify every authorisation in the journal and recompute each session's spend."""
    from agent.audit import audit as check
    from agent.cli.context import settings
    from agent.errors import PolicyDenied
    from agent.journal import Journal
    from tools.chain.plain import Client, rpc
    from tools.erc20.reads import token

    store, ledger, (chain, _) = _store()
    authorised = Journal(settings().data_dir).authorised()
    client = Client(chain.url)
    sent = partial(rpc, client, "eth_getTransactionByHash")
    report = check(store, ledger, authorised, sent, lambda s: token(client, chain.book, s).decimals)
    problems = report["problems"]
    if as_json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        typer.echo(
            f"{report['authorizations_checked']} authorisations verified; "
            f"{_count(len(report['sessions']), 'session')}; {_count(len(problems), 'problem')}"
        )
        for problem in problems:
            typer.echo(f"  {problem}")
        unsettled = report["unsettled"]
        if unsettled:
            plans = sorted({str(u["plan_id"]) for u in unsettled if u["plan_id"]})
            typer.echo(
                f"  {len(unsettled)} reservations still counted with their outcome unknown (an "
                "interrupted plan): `defi-agent resume " + " | ".join(plans) + "` settles them"
            )
        if report["unsealed"]:
            typer.echo(
                f"  {len(report['unsealed'])} sessions made before sessions were sealed: their "
                "policy and lifetime cannot be checked"
            )
    if problems and as_json:
        raise typer.Exit(PolicyDenied.exit_code)  # the report is the one JSON document
    if problems:
        raise PolicyDenied("audit found problems: " + "; ".join(problems))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
