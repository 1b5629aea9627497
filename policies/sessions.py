"""Sessions: an id, a secp256k1 key of its own, the policy frozen at creation, and a lifetime.

Editing a policy file later does not widen an existing session: the session keeps the policy text
it was created with. The session key never signs transactions: it signs EIP-712 authorisations of
exactly the transactions the policy engine allowed, which the signer verifies before it signs
with the wallet key. The key is stored encrypted (keystore v3, pbkdf2: `tools.chain.keystore`) under a
secret derived from the wallet key, never in plain text. Times are chain time (latest block
timestamp), so `chain warp` moves expiry and refill windows as it moves interest.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from coincurve import PrivateKey, PublicKey

from agent.db import add_column, transaction
from agent.errors import BadInput, PolicyDenied
from policies.model import Policy, parse_policy, ttl_seconds
from tools.chain import keystore
from tools.chain.address import address_of, keccak

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    policy_text TEXT NOT NULL,
    address TEXT NOT NULL,
    keystore TEXT NOT NULL,
    chain_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    strategy TEXT,
    charter TEXT,
    void INTEGER NOT NULL DEFAULT 0
);
"""
_KDF_ITERATIONS = 2048
DOMAIN_NAME = "defi-agent session"


@dataclass(frozen=True)
class Session:
    id: str
    name: str
    policy: Policy
    policy_text: str
    address: str
    chain_id: int
    created_at: int
    expires_at: int
    revoked_at: int | None
    strategy: str | None = None
    """The strategy file a run created this session for: it authorises that run alone, and is
    never the active session of the chat or the CLI."""
    charter: str = "missing"
    """``sealed``: what the session was created with (policy, lifetime, chain, strategy) is as
    its key signed it then; ``broken``: it was changed since, in the database; ``missing``: not
    stored yet, or stored before sessions were sealed (2026-12)."""

    void: bool = False
    """The chain it began on started over since (`chain reset`, a new fork, a restart after its
    anvil was killed): it never authorises again, though
    the clock, put back, could pass its start again and fall short of its expiry."""

    def void_at(self, now: int) -> bool:
        """Void at chain time ``now``: its chain was reset since, or it begins later than now."""
        return self.void or now < self.created_at

    def active(self, now: int) -> bool:
        """Unrevoked, not void, and chain time ``now`` within its lifetime: a chain reset puts the
        clock back, and a session begun at a later chain time is void on it, not valid for longer."""
        return self.revoked_at is None and not self.void_at(now) and now < self.expires_at


def authorization_message(
    session_id: str,
    chain_id: int,
    to: str,
    value: int,
    data: bytes,
    usd_cents: int,
    reservation: int,
) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            "Authorization": [
                {"name": "sessionId", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "to", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "data", "type": "bytes"},
                {"name": "usdCents", "type": "uint256"},
                {"name": "reservation", "type": "uint256"},
            ],
        },
        "primaryType": "Authorization",
        "domain": {"name": DOMAIN_NAME, "version": "1", "chainId": chain_id},
        "message": {
            "sessionId": session_id,
            "chainId": chain_id,
            "to": to,
            "value": value,
            "data": "0x" + data.hex(),
            "usdCents": usd_cents,
            "reservation": reservation,
        },
    }


_DOMAIN_TYPE = keccak(b"EIP712Domain(string name,string version,uint256 chainId)")
_AUTHORIZATION_TYPE = keccak(
    b"Authorization(string sessionId,uint256 chainId,address to,uint256 value,bytes data,"
    b"uint256 usdCents,uint256 reservation)"
)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


@lru_cache(maxsize=16)
def _domain_separator(chain_id: int) -> bytes:
    return keccak(_DOMAIN_TYPE + keccak(DOMAIN_NAME.encode()) + keccak(b"1") + _word(chain_id))


def digest(message: dict[str, Any]) -> bytes:
    """The EIP-712 digest of an authorisation, computed for its one fixed type (the same bytes as
    eth_account's `encode_typed_data`, which a test checks, at a fraction of the cost)."""
    body = message["message"]
    struct = keccak(
        _AUTHORIZATION_TYPE
        + keccak(str(body["sessionId"]).encode())
        + _word(int(body["chainId"]))
        + bytes(12)
        + bytes.fromhex(str(body["to"]).removeprefix("0x"))
        + _word(int(body["value"]))
        + keccak(bytes.fromhex(str(body["data"]).removeprefix("0x")))
        + _word(int(body["usdCents"]))
        + _word(int(body["reservation"]))
    )
    domain = _domain_separator(int(message["domain"]["chainId"]))
    return keccak(b"\x19\x01" + domain + struct)


def recover(message: dict[str, Any], signature: str) -> str:
    """The address that signed an authorisation ("" when the signature is malformed)."""
    raw = bytes.fromhex(signature.removeprefix("0x"))
    if len(raw) != 65 or raw[64] not in (27, 28):
        return ""
    try:
        public_key = PublicKey.from_signature_and_message(
            raw[:64] + bytes([raw[64] - 27]), digest(message), hasher=None
        )
    except ValueError:
        return ""
    return address_of(public_key)


def _migrate(conn: sqlite3.Connection) -> None:
    """The sessions table, with the columns added since its first version."""
    conn.executescript(_SCHEMA)
    add_column(conn, "sessions", "strategy", "TEXT")  # since strategy sessions
    add_column(conn, "sessions", "charter", "TEXT")  # since 2026-12
    add_column(conn, "sessions", "void", "INTEGER NOT NULL DEFAULT 0")  # since 2026-12
    # the policy's default slippage, for `plan`, which reads it without parsing TOML; since 2026-12
    add_column(conn, "sessions", "default_slippage_bps", "INTEGER")


def void_sessions(conn: sqlite3.Connection, chain_id: int) -> int:
    """Void every session begun on chain ``chain_id``, which started over: how many were not void
    yet. Needs no session key, so the chain's reset can do it."""
    _migrate(conn)
    with transaction(conn):
        return conn.execute(
            "UPDATE sessions SET void = 1 WHERE chain_id = ? AND void = 0", (chain_id,)
        ).rowcount


class SessionStore:
    def __init__(self, conn: sqlite3.Connection, wallet_secret: bytes) -> None:
        self.conn = conn
        _migrate(conn)
        self._secret = wallet_secret
        self._keys: dict[str, PrivateKey] = {}
        self._foreign: set[str] = set()
        """Sessions another wallet key made in the same data directory (their key does not
        decrypt with this one's)."""

    def _password(self, session_id: str) -> str:
        return hashlib.sha256(self._secret + session_id.encode()).hexdigest()

    def create(
        self,
        policy_text: str,
        source: str,
        name: str | None,
        ttl: str | None,
        chain_id: int,
        now: int,
        strategy: str | None = None,
        *,
        first: bool = False,
    ) -> Session:
        """A new session; with ``first``, only when the chain has no session of the chat and the
        CLI yet (checked under the write lock: two processes starting at once start one), else
        that session."""
        policy = parse_policy(policy_text, source)
        lives = lifetime(ttl, policy)
        session_id = _new_id()
        key = PrivateKey()
        address = address_of(key.public_key)
        stored = keystore.encrypt(key.secret, self._password(session_id), _KDF_ITERATIONS, address)
        sealed = key.sign_recoverable(
            _charter(session_id, chain_id, policy_text, now, now + lives, strategy), hasher=None
        )
        with transaction(self.conn):
            if first and (found := self.latest(chain_id)) is not None:
                return found
            self.conn.execute(
                "INSERT INTO sessions (id, name, policy_text, address, keystore, chain_id, "
                "created_at, expires_at, strategy, charter, default_slippage_bps) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    name or policy.name,
                    policy_text,
                    address,
                    json.dumps(stored),
                    chain_id,
                    now,
                    now + lives,
                    strategy,
                    "0x" + sealed.hex(),
                    policy.slippage.default_bps,
                ),
            )
        self._keys[session_id] = key
        session = self.get(session_id)
        assert session is not None
        return session

    def unstarted(
        self, policy_text: str, source: str, chain_id: int, now: int, ttl: str | None = None
    ) -> Session:
        """The session `create` would start now, not stored and without a key (its id and
        address are empty): what a plan is decided under before the first one is confirmed."""
        policy = _frozen_policy(policy_text, source)
        return Session(
            "",
            policy.name,
            policy,
            policy_text,
            "",
            chain_id,
            now,
            now + lifetime(ttl, policy),
            None,
        )

    def get(self, session_id: str) -> Session | None:
        row = self.conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return _session(row) if row else None

    def starting_with(self, prefix: str) -> list[Session]:
        """The sessions whose id starts with ``prefix`` (a whole id, or the start of one)."""
        rows = self.conn.execute(
            "SELECT * FROM sessions WHERE substr(id, 1, ?) = ?", (len(prefix), prefix)
        )
        return [_session(r) for r in rows]

    def all(self) -> list[Session]:
        return [
            _session(r) for r in self.conn.execute("SELECT * FROM sessions ORDER BY rowid DESC")
        ]

    def latest(self, chain_id: int) -> Session | None:
        """The session in effect for the chat and the CLI on this chain: the newest one that is
        not a strategy run's own, whether it is active, expired or revoked. Starting a session
        supersedes the ones before it: when the newest expires or is revoked, an older one does
        not take over. Newest by creation, not by chain time, which a chain reset puts back."""
        rows = self.conn.execute(
            "SELECT * FROM sessions WHERE chain_id = ? AND strategy IS NULL ORDER BY rowid DESC",
            (chain_id,),
        )
        return next((_session(r) for r in rows if self._unlocks(r["id"], r["keystore"])), None)

    def owns(self, session_id: str) -> bool:
        """Whether this wallet key made the session (its key decrypts with it; cached): one
        another wallet made in the same data directory is never in effect for this one, and
        authorises nothing for it (QA: every rule passed, then signing failed). True for one
        not stored: it starts with this key."""
        if session_id in self._keys or not session_id:
            return True
        if session_id in self._foreign:
            return False
        row = self.conn.execute(
            "SELECT keystore FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        return row is None or self._unlocks(session_id, row["keystore"])

    def _unlocks(self, session_id: str, stored: str) -> bool:
        """Whether the session's ``stored`` keystore decrypts with this wallet key; its key is
        then kept for signing (the answer cached either way)."""
        if session_id in self._keys:
            return True
        if session_id in self._foreign:
            return False
        try:
            secret = keystore.decrypt(json.loads(stored), self._password(session_id))
        except keystore.KeystoreError:
            self._foreign.add(session_id)
            return False
        self._keys[session_id] = PrivateKey(secret)
        return True

    def superseded_by(self, session: Session) -> str | None:
        """The id of the newer session of the chat and the CLI in effect on ``session``'s chain,
        when one superseded it (a strategy run's own session is not theirs to supersede)."""
        if session.strategy is not None:
            return None
        newest = self.latest(session.chain_id)
        return newest.id if newest is not None and newest.id != session.id else None

    def revoke(self, session_id: str, now: int) -> Session:
        with transaction(self.conn):
            changed = self.conn.execute(
                "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now, session_id),
            ).rowcount
        session = self.get(session_id)
        if session is None:
            raise BadInput(f"no session {session_id}")
        if not changed:
            raise BadInput(f"session {session_id} was already revoked")
        return session

    def sign(self, session: Session, message: dict[str, Any]) -> str:
        """The session key's EIP-712 signature of an authorisation (r, s, v with v 27 or 28)."""
        if not self.owns(session.id) or session.id not in self._keys:
            raise PolicyDenied(f"session {session.id} belongs to another wallet key")
        signed = self._keys[session.id].sign_recoverable(digest(message), hasher=None)
        return "0x" + (signed[:64] + bytes([signed[64] + 27])).hex()


def _new_id() -> str:
    """Twelve hex digits, a letter among them: an id of digits alone is a number to YAML, and
    `session: {id: 123456789012}` in a strategy file did not name the session (1 id in 281)."""
    while True:
        candidate = uuid.uuid4().hex[:12]
        if not candidate.isdigit():
            return candidate


def lifetime(ttl: str | None, policy: Policy) -> int:
    """Seconds a session under ``policy`` lives: ``ttl``, else the policy's; at most 365 days."""
    try:
        return ttl_seconds(policy.ttl if ttl is None else ttl)
    except ValueError as error:
        raise BadInput(f"invalid ttl: {error}") from None


@lru_cache(maxsize=64)
def _frozen_policy(text: str, source: str) -> Policy:
    """A session's policy, parsed once: its text never changes after the session is created, and
    the parsed model is frozen."""
    return parse_policy(text, source, stored=True)


def _session(row: sqlite3.Row) -> Session:
    return Session(
        id=row["id"],
        name=row["name"],
        policy=_frozen_policy(row["policy_text"], f"session {row['id']}"),
        policy_text=row["policy_text"],
        address=row["address"],
        chain_id=row["chain_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        strategy=row["strategy"],
        void=bool(row["void"]),
        charter=_charter_state(
            row["charter"],
            row["address"],
            (
                row["id"],
                row["chain_id"],
                row["policy_text"],
                row["created_at"],
                row["expires_at"],
                row["strategy"],
            ),
        ),
    )


def _charter(
    session_id: str,
    chain_id: int,
    policy_text: str,
    created_at: int,
    expires_at: int,
    strategy: str | None,
) -> bytes:
    """The digest a session's key signs when it is created: what widening it would change."""
    fields = [session_id, chain_id, policy_text, created_at, expires_at, strategy]
    return keccak(b"defi-agent session charter\n" + json.dumps(fields).encode())


@lru_cache(maxsize=256)
def _charter_state(
    charter: str | None, address: str, fields: tuple[str, int, str, int, int, str | None]
) -> str:
    """`Session.charter` of a row's ``fields`` (`_charter`'s): a session is read on every
    decision, so this is worked out once per content."""
    if charter is None:
        return "missing"
    raw = bytes.fromhex(charter.removeprefix("0x"))
    try:
        signer = address_of(
            PublicKey.from_signature_and_message(raw, _charter(*fields), hasher=None)
        )
    except ValueError:
        return "broken"
    return "sealed" if signer == address else "broken"
