"""JSON-RPC without web3.py: `rpc`, one raw call on any client (a `Web3`, or a `Client`), and
`Client`, a client of the running chain for commands that read a few values and nothing else (a
block, balances, Aave positions): web3's import (~0.6 s, most of it eth_account's) would be most
of their time. One POST over `tools.chain.wire` per call. `tools.chain.rpc`'s provider reports
failures with the same errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from agent.errors import ChainUnavailable, DefiAgentError
from tools.chain.wire import Connection


class Provider(Protocol):
    def make_request(self, method: Any, params: Any) -> Any: ...


class Node(Protocol):
    """What `rpc` and `tools.chain.contracts.LeanContract` use of a client."""

    @property
    def provider(self) -> Provider: ...


class Client:
    """A client of the node at ``url`` (plain HTTP, as the running chain's is) with web3's
    ``provider.make_request``, and nothing else."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.provider = self

    def make_request(self, method: str, params: list[Any]) -> dict[str, Any]:
        return _answer(self.url, method, params)


def rpc(client: Node, method: str, *params: Any) -> Any:
    """One raw JSON-RPC call; node errors become `DefiAgentError`s naming the method."""
    return result(method, client.provider.make_request(method, list(params)))


def head(client: Node) -> tuple[int, int]:
    """The latest block's number and timestamp (read raw: the header alone is needed)."""
    header = rpc(client, "eth_getBlockByNumber", "latest", False)
    return int(header["number"], 16), int(header["timestamp"], 16)


def _answer(url: str, method: str, params: list[Any], timeout: float = 30.0) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"{url} is not a plain-HTTP node URL")
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
    try:
        conn = Connection(parts.hostname or "127.0.0.1", parts.port or 80, timeout)
        try:
            return dict(json.loads(conn.post(parts.path or "/", body.encode())))
        finally:
            conn.close()
    except (OSError, ValueError) as error:
        raise unanswered(method, error) from None


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
