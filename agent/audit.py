"""`defi-agent audit`: every authorisation in the journal checked again, and each session's spend
recomputed from the ledger against its limits.

An authorisation holds when the session's key signed it, it names exactly the transaction the
journal recorded with it (target, value, calldata), its reservation is in the ledger at the USD
value it signed (and counted as spent once the transaction was confirmed), and the transaction
the chain holds under its hash (when the chain still has it: a devnet reset forgets them) is that
same transaction; and a session holds when what it was created with (policy, lifetime, chain,
strategy) is as its key signed it then (sessions made before 2026-12 are listed as unsealed: they
cannot be checked). Each window is recomputed as the engine counted it when each reservation was
taken, in USD or in token units. Reservations still reserved (their outcome unknown: a plan
interrupted while it was sending) are listed with their plan, which `resume` settles.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from agent.journal import TxRecord
from policies.ledger import Ledger
from policies.rules import one_asset
from policies.sessions import Session, SessionStore, recover

SentTx = Callable[[str], dict[str, Any] | None]
"""A transaction hash -> the chain's ``eth_getTransactionByHash`` answer, None when unknown."""


def dollars(cents: int) -> str:
    """USD cents as the reports write them: ``15990`` is "159.90" (it was "159.9")."""
    return f"{Decimal(cents).scaleb(-2):.2f}"


def audit(
    store: SessionStore,
    ledger: Ledger,
    authorised: Iterable[TxRecord],
    sent: SentTx,
    decimals: Callable[[str], int],
) -> dict[str, Any]:
    """The report: how many authorisations were checked, each session's spend, and every problem
    found, in words. ``decimals`` gives a token's, for the windows counted in token units."""
    sessions = {s.id: s for s in store.all()}
    ledgers = {sid: ledger.entries(sid) for sid in sessions}
    reservations = {e["id"]: e for entries in ledgers.values() for e in entries}
    problems: list[str] = []
    checked = 0
    plans: dict[int, str] = {}
    for record in authorised:
        checked += 1
        problems += _authorisation(sessions, reservations, record, sent)
        assert record.authorization is not None
        plans[int(record.authorization["reservation"])] = record.plan_id
    problems += [
        f"session {s.id}: its policy or lifetime is not what its key signed when it was created"
        for s in sessions.values()
        if s.charter == "broken"
    ]
    spends = []
    for session in sessions.values():
        entries = [e for e in ledgers[session.id] if e["status"] != "released"]
        spent = sum(e["usd_cents"] for e in entries)
        limits = session.policy.limits
        problems += [
            f"session {session.id}: {over}" for over in _windows(session, entries, decimals)
        ]
        if limits.lifetime_usd is not None and spent > limits.lifetime_usd * 100:
            problems.append(
                f"session {session.id}: lifetime spend {spent / 100} USD above {limits.lifetime_usd}"
            )
        spends.append({"id": session.id, "spent_usd": dollars(spent), "transactions": len(entries)})
    unsealed = [s.id for s in sessions.values() if s.charter == "missing"]
    unsettled = [
        {
            "reservation": e["id"],
            "session": e["session_id"],
            "plan_id": plans.get(e["id"]),
            "usd": dollars(e["usd_cents"]),
        }
        for e in reservations.values()
        if e["status"] == "reserved"
    ]
    return {
        "authorizations_checked": checked,
        "sessions": spends,
        "problems": problems,
        "unsealed": unsealed,
        "unsettled": unsettled,
    }


def _windows(
    session: Session, entries: Sequence[Any], decimals: Callable[[str], int]
) -> Iterator[str]:
    """Each window over-spent as a reservation was taken, as the engine counted then: what was
    reserved before it (and is still counted) within the window before its time, and itself.
    Not at the chain's time now, which `chain reset` puts back behind the reservations."""
    for window in session.policy.limits.windows:
        for entry in entries:
            since = entry["created_at"] - window.seconds
            inside = [e for e in entries if e["id"] <= entry["id"] and e["created_at"] > since]
            if window.usd_cents is not None:
                used = sum(e["usd_cents"] for e in inside)
                if used > window.usd_cents:
                    yield f"{used / 100} USD within {window.label}"
                    break
                continue
            assert window.token is not None and window.amount is not None
            symbol = window.token
            raw = sum(one_asset(json.loads(e["tokens"]), symbol) for e in inside)
            amount = Decimal(raw).scaleb(-decimals(symbol))
            if amount > window.amount:
                yield f"{amount.normalize():f} {symbol} within {window.label}"
                break


def _authorisation(
    sessions: dict[str, Session], reservations: dict[int, Any], record: TxRecord, sent: SentTx
) -> list[str]:
    grant = record.authorization
    assert grant is not None
    where = f"reservation {grant['reservation']} (plan {record.plan_id}, step {record.step})"
    session = sessions.get(grant["session"])
    signed = grant["authorization"]["message"]
    if session is None or recover(grant["authorization"], grant["signature"]) != session.address:
        return [f"{where}: authorisation not signed by session {grant['session']}"]
    problems = []
    call = record.call
    authorised = (signed["to"].lower(), int(signed["value"]), signed["data"])
    if authorised != (call.to.lower(), call.value, "0x" + call.data.hex()):
        problems.append(f"{where}: the transaction recorded is not the one authorised")
    reservation = reservations.get(int(signed["reservation"]))
    if reservation is None or reservation["session_id"] != session.id:
        problems.append(f"{where}: no such reservation in the ledger")
    elif reservation["usd_cents"] != int(signed["usdCents"]):
        problems.append(
            f"{where}: the ledger reserved {dollars(reservation['usd_cents'])} USD, the "
            f"authorisation signed {dollars(int(signed['usdCents']))} USD"  # QA: "3.0" by "0.01"
        )
    elif record.status == "confirmed" and reservation["status"] != "committed":
        problems.append(
            f"{where}: the transaction was confirmed but the ledger has its spend "
            f"{reservation['status']}, so it is not counted"
        )
    on_chain = sent(record.tx_hash) if record.tx_hash else None
    if on_chain is not None and authorised != (
        (on_chain.get("to") or "").lower(),
        int(on_chain["value"], 16),
        on_chain["input"],
    ):
        problems.append(
            f"{where}: the chain's transaction {record.tx_hash} is not the one authorised"
        )
    return problems
