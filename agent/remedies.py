"""What to do instead when a plan cannot go ahead for a reason the user can act on: a step Aave
would refuse (QA: "borrow 500 USDC" with nothing supplied ended at "The collateral balance is 0",
with no word on how to borrow), or a transfer the session's policy does not allow. The reason
says what went wrong, this says what to do next."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tools.revert import aave_error

if TYPE_CHECKING:
    from policies.model import Policy

_COVER = (
    'borrow less, or supply more collateral first ("how much can I borrow?" says what the '
    "collateral on Aave covers now)"
)
_REMEDIES = {
    ("borrow", "COLLATERAL_BALANCE_IS_ZERO"): (
        "Aave holds no collateral of this wallet's: name some in the same request, enough to "
        'cover the debt, e.g. "borrow {amount} {token} against 1 ETH"'
    ),
    ("borrow", "COLLATERAL_CANNOT_COVER_NEW_BORROW"): _COVER,
    ("borrow", "HEALTH_FACTOR_LOWER_THAN_LIQUIDATION_THRESHOLD"): _COVER,
    ("borrow", "LTV_VALIDATION_FAILED"): _COVER,
    ("withdraw", "NOT_ENOUGH_AVAILABLE_USER_BALANCE"): (
        'that is more {token} than the wallet has on Aave: "how much {token} can I withdraw?" '
        'says how much, "withdraw all my {token} from aave" takes it all'
    ),
    ("withdraw", "HEALTH_FACTOR_LOWER_THAN_LIQUIDATION_THRESHOLD"): (
        'the debt needs this collateral: repay some first, or withdraw less ("how much {token} '
        'can I withdraw?" says how much)'
    ),
    ("repay", "NO_DEBT_OF_SELECTED_TYPE"): (
        'the wallet owes no {token} on Aave ("what\'s my health factor?" tells its debt)'
    ),
}
"""By the step's action and the Aave error its call reverted with. A borrow's amount is always a
number (the parser takes no other)."""


def remedy(step: Mapping[str, Any], reason: str | None) -> str | None:
    """What to ask for instead of ``step``, whose call reverted for ``reason`` (as
    `tools.revert.explain` says it); None when there is nothing better to say than the reason."""
    found = _REMEDIES.get((str(step.get("action")), aave_error(reason) or ""))
    if found is None:
        return None
    return found.format(amount=step.get("amount", ""), token=step.get("token", ""))


def recipients_hint(steps: Sequence[Mapping[str, Any]], denied: Sequence[str]) -> str | None:
    """How to send to an address the session's policy does not list, when ``denied`` (the rules
    that denied the plan of ``steps``) has the recipients rule and the plan sends tokens: the
    default policy sends only to the wallet itself, and the denial said no more (QA)."""
    sent_to = sorted({str(s["to"]) for s in steps if s.get("action") == "transfer" and s.get("to")})
    if "recipients.allowed" not in denied or not sent_to:
        return None
    return (
        f"to send there, list {', '.join(sent_to)} in `recipients` under `[allow]` in a copy of "
        "the policy, then start a session with it (`defi-agent session new --policy FILE`, or "
        "/session new FILE in the chat)"
    )


_WHAT_IT_DOES = frozenset({"actions.allowed", "protocols.allowed", "tokens.allowed"})
"""The rules that deny a plan for what it does, on which protocols, with which tokens: what the
session's policy allows, not how much."""
_PERMISSIONS = _WHAT_IT_DOES | {"approvals.exact"}  # a protocol's spender goes with its protocol


def permissions_hint(policy: Policy, denied: Collection[str]) -> str | None:
    """What the session's ``policy`` allows, when ``denied`` (the rules that denied a plan) are
    about what the plan does alone, and how to have a session that allows more: the default
    policy allows swaps and Aave on every protocol and token of the address book (QA: "swap is
    not allowed by the policy", and no word on what is, or how to go on)."""
    if policy.name == "default" or not _WHAT_IT_DOES & set(denied) or set(denied) - _PERMISSIONS:
        return None
    allow = policy.allow
    return (
        f"the session's policy ({policy.name}) allows {', '.join(allow.actions) or 'nothing'} on "
        f"{', '.join(allow.protocols) or 'no protocol'} with {', '.join(allow.tokens) or 'no token'}"
        "; for more, start a session under a policy that allows it, e.g. the default one "
        "(`defi-agent session new --policy default`, or /session new default in the chat)"
    )
