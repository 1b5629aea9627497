"""JSON-RPC to the running chain without web3.py, for commands that read a block or move the
clock and nothing else: web3's import (~0.6 s, most of it eth_account's) would be most of their
time. One POST over `tools.chain.wire` per call. `tools.chain.rpc` reports failures with the same
errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from agent.errors import ChainUnavailable, DefiAgentError
from tools.chain.wire import Connection


def call(url: str, method: str, *params: Any, timeout: float = 30.0) -> Any:
    """One JSON-RPC call to the node at ``url`` (plain HTTP, as the running chain's is)."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"{url} is not a plain-HTTP node URL")
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1})
    try:
        conn = Connection(parts.hostname or "127.0.0.1", parts.port or 80, timeout)
        try:
            answer = json.loads(conn.post(parts.path or "/", body.encode()))
        finally:
            conn.close()
    except (OSError, ValueError) as error:
        raise unanswered(method, error) from None
    return result(method, answer)


def unanswered(method: str, error: Exception) -> ChainUnavailable:
    return ChainUnavailable(
        f"the chain stopped answering ({type(error).__name__} during {method})",
        hint="check it with `defi-agent chain status`; `defi-agent chain up` starts it",
    )


def result(method: str, answer: Mapping[str, Any]) -> Any:
    """The result of a JSON-RPC answer; a node's error becomes a `DefiAgentError` naming the
    method."""
    if "error" in answer:
        error = answer["error"]
        message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        raise DefiAgentError(f"{method} failed: {message}", code="rpc_error")
    return answer["result"]
