"""There is exactly one path to a signature: no module of the agent other than agent/signer.py can
sign or send a transaction. The devnet bootstrap (tools/devnet/deployer.py), which deploys the
protocols from anvil's own unlocked accounts on a fresh local chain, is the one documented
exception: it never holds the user's key."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent", "tools", "policies", "strategies")
SIGNING = {
    "sign_transaction",
    "send_raw_transaction",
    "send_transaction",
    "sign_message",
    "sign_recoverable",
    "signHash",
    "unsafe_sign_hash",
    "eth_sendTransaction",
    "eth_sendRawTransaction",
    "eth_sendTransactionSync",
    "eth_sendRawTransactionSync",
    "eth_sign",
    "eth_signTransaction",
}
ALLOWED = {
    "agent/signer.py": SIGNING,
    "tools/devnet/deployer.py": {"eth_sendTransactionSync"},
    "policies/sessions.py": {"sign_recoverable"},
}


def uses(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in SIGNING:
            found.add(node.attr)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in SIGNING:
            found.add(node.value)
    return found


def test_only_the_signer_signs_or_sends() -> None:
    offenders = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            extra = uses(path) - ALLOWED.get(relative, set())
            if extra:
                offenders[relative] = sorted(extra)
    assert offenders == {}


def test_the_scan_sees_a_signature() -> None:
    assert uses(ROOT / "agent" / "signer.py") >= {"sign_recoverable", "eth_sendRawTransactionSync"}


def test_session_keys_only_sign_authorisations() -> None:
    """policies/sessions.py signs with session keys only the EIP-712 digest of an authorisation
    and, once, the session's charter (a digest of "defi-agent session charter" and the session's
    fields): every raw-digest signature there signs `digest(...)` or `_charter(...)`, never a
    transaction."""
    path = ROOT / "policies" / "sessions.py"
    assert uses(path) == {"sign_recoverable"}
    calls = [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "sign_recoverable"
    ]
    assert calls
    for call in calls:
        signed = call.args[0]
        assert isinstance(signed, ast.Call)
        assert getattr(signed.func, "id", None) in ("digest", "_charter")
