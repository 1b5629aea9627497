"""One error tree for the whole project.

Every error a user can meet is a ``DefiAgentError`` subclass; its ``exit_code`` is the documented CLI
exit code (DESIGN.md) and its ``code`` the machine-readable code printed in ``--json`` error objects.
web3, RPC and OS errors are translated into these where they enter the project.
"""

from __future__ import annotations

from typing import ClassVar


class DefiAgentError(Exception):
    """Root of every error the agent reports to a user."""

    exit_code: ClassVar[int] = 1
    default_code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.hint = hint

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        return {"error": body}

    def one_line(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class BadInput(DefiAgentError):
    """Bad input, an unsupported request, or a request that needs clarification (exit 2)."""

    exit_code = 2
    default_code = "invalid_input"


class IntentError(BadInput):
    """A request that cannot be turned into a plan.

    ``code`` is one of: needs_clarification, unknown_token, invalid_amount, invalid_address,
    unsupported, ungrounded.
    """

    CODES: ClassVar[frozenset[str]] = frozenset(
        {
            "needs_clarification",
            "unknown_token",
            "invalid_amount",
            "invalid_address",
            "unsupported",
            "ungrounded",
        }
    )

    def __init__(self, code: str, message: str, *, hint: str | None = None) -> None:
        if code not in self.CODES:
            raise ValueError(f"unknown intent error code {code!r}")
        super().__init__(message, code=code, hint=hint)


class Refused(IntentError):
    """A clarification said, not asked: the next text is not read as its answer (QA: "0.5" after
    "pay with dai" was read as "pay 0.5 with dai"; "150" after "supply half of it" as "supply 150
    half of it")."""

    def __init__(self, message: str) -> None:
        super().__init__("needs_clarification", message)


class ConfigError(BadInput):
    """A configuration value or file that cannot be used."""

    default_code = "invalid_config"


class PolicyDenied(DefiAgentError):
    """The session's policy does not allow the transactions (exit 3)."""

    exit_code = 3
    default_code = "policy_denied"


class Reverted(DefiAgentError):
    """A simulated or mined transaction reverted (exit 4)."""

    exit_code = 4
    default_code = "reverted"


class SimulationReverted(Reverted):
    default_code = "simulation_reverted"


class TransactionReverted(Reverted):
    default_code = "transaction_reverted"


class ChainUnavailable(DefiAgentError):
    """The chain cannot be reached, started or found (exit 5)."""

    exit_code = 5
    default_code = "chain_unreachable"
