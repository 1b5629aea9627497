"""What the core service needs from the intent parser, the policy engine and the signer.

Each is a small protocol, so the service can be read without them and each can be tested on its
own; `agent.wiring` builds the real ones from the settings.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from agent.events import Verdict
from tools.tx import Call, SimulatedCall

if TYPE_CHECKING:
    from policies.model import Policy


class Planner(Protocol):
    def plan(self, text: str) -> dict[str, Any]:
        """DESIGN.md's plan JSON for ``text``; raises `IntentError` when it cannot."""
        ...

    def forget(self, plan: dict[str, Any]) -> None:
        """Take ``plan`` (one `plan` returned) out of the conversation, as if never asked for."""
        ...


@dataclass(frozen=True)
class Authorization:
    """The policy engine's decision on a whole batch, made when the plan is proposed; nothing is
    reserved or signed for it until `Authorizer.grant`."""

    allowed: bool
    verdicts: tuple[Verdict, ...]
    session: str
    remaining: Mapping[str, str]
    needs_confirmation: bool
    decision: Any
    """The engine's own record of the decision, which `Authorizer.grant` takes."""
    instead: str | None = None
    """On a denial, what to ask for instead, in words, when there is something to say: what the
    USD limits alone allow now ("at most 5000 USDC fits the session's limits now"), what the
    health floor allows borrowing, what the session's policy allows doing."""


@dataclass(frozen=True)
class SpendWindow:
    label: str
    used: Decimal
    limit: Decimal
    token: str | None = None
    """The token a window counts in units of; None for USD."""


@dataclass(frozen=True)
class SessionStatus:
    id: str
    """Empty for the default session before the first plan is confirmed: it starts then."""
    name: str
    policy: str
    expires_at: float
    revoked: bool
    windows: tuple[SpendWindow, ...]
    void: bool = False
    """The chain started over since the session began: it never authorises again."""
    transactions: int = 0
    """How many transactions it has authorised (reserved or spent)."""
    parsed: Policy | None = None
    """Its policy (None: not known, as of a revoked session)."""

    @property
    def max_usd_per_tx(self) -> Decimal | None:
        """The most one transaction may move, in USD (None: not known)."""
        return None if self.parsed is None else self.parsed.limits.max_usd_per_tx

    @property
    def min_health_factor(self) -> Decimal | None:
        """The health factor a borrow or withdraw must leave (None: not known)."""
        return None if self.parsed is None else self.parsed.health.min_after_borrow_or_withdraw

    @property
    def state(self) -> str:
        """not started, active, expired, revoked or void."""
        if not self.id:
            return "not started"
        if self.revoked:
            return "revoked"
        if self.void:
            return "void"
        return "expired" if self.expires_at <= time.time() else "active"

    @property
    def ended(self) -> str | None:
        """How a session that authorises nothing more came to it ("was revoked"), else None."""
        return {
            "revoked": "was revoked",
            "expired": "has expired",
            "void": "is void on this chain, which started over since the session began (a "
            "reset, a fork, or a restart after its anvil was killed)",
        }.get(self.state)

    @property
    def time_left(self) -> str:
        """What is left of its lifetime, as "23h 59m"."""
        left = max(0, int(self.expires_at - time.time()))
        return f"{left // 3600}h {left % 3600 // 60}m"


class Authorizer(Protocol):
    def policy(self) -> Policy:
        """The policy plans are made under: the session's in effect, else the default's."""
        ...

    def status(self) -> SessionStatus:
        """The session in effect (active, expired or revoked); before the first one, the default
        session as it would start now (`SessionStatus.state` "not started")."""
        ...

    def new_session(
        self, policy_file: str | None, ttl: str | None, strategy: str | None = None
    ) -> SessionStatus: ...

    def revoke(self) -> SessionStatus:
        """Revoke the session in effect: nothing is authorised until a new one is started."""
        ...

    def preview(self, policy_file: str, ttl: str | None) -> SessionStatus:
        """Decide from now on under the session ``policy_file`` would start, without starting it
        (nothing is granted under it)."""
        ...

    def pin(self, session_id: str | None) -> tuple[str, str]:
        """Authorise under this session (None: the one in effect) from now on, whatever session
        is newest; returns its id and name."""
        ...

    def authorize(
        self,
        calls: Sequence[Call],
        simulated: Sequence[SimulatedCall],
        health_factors: Sequence[Decimal | None],
        after: Sequence[Authorization] = (),
        done: Sequence[tuple[Call, Mapping[str, int], str]] = (),
        owner: str | None = None,
    ) -> Authorization:
        """The decision on the batch; reserves nothing. With ``after``, as if the batches of
        those authorisations, never executed, had been first. ``done``: the calls of the same
        plan already executed, with their steps' simulated changes and the session that
        authorised each (a resumed plan): only this session's own swaps cover the rest.
        ``owner``: the session that authorised a resumed plan before; when it is a strategy
        run's own, the plan is that run's and the rest is decided under it."""
        ...

    def grant(
        self, authorization: Authorization, health: Sequence[Decimal | None] | None = None
    ) -> tuple[Any, ...]:
        """Right before signing: decide again under the ledger's lock, reserve the batch's spend
        and return one grant per call for the signer; `PolicyDenied`, with nothing reserved, when
        the policy no longer allows it (another process spent the allowance, the session expired
        or was revoked). ``health``: the health factor after each call, from a simulation made
        again because the chain moved since the decision; the decision's own otherwise."""
        ...

    def settle(self, grant: Any, *, spent: bool) -> None:
        """Commit a grant's reservation once its transaction succeeded, release it otherwise."""
        ...


@dataclass(frozen=True)
class SignedTx:
    raw: bytes
    tx_hash: str
    nonce: int


class TxSigner(Protocol):
    def sign(self, call: Call, gas: int, grant: Any) -> SignedTx:
        """Sign ``call`` if ``grant`` authorises exactly it; the hash is known before sending."""
        ...

    def send(self, signed: SignedTx) -> dict[str, Any]:
        """Send and wait for the receipt."""
        ...

    def receipt(self, tx_hash: str) -> dict[str, Any] | None: ...

    def waiting(self, tx_hash: str) -> bool:
        """Whether ``tx_hash`` was sent and is not mined yet."""
        ...
