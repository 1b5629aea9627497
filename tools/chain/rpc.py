"""The connection to a node: a lean web3.py client that reports transport failures as our errors."""

from __future__ import annotations

from typing import Any

import requests
from web3 import Web3
from web3.providers.rpc import HTTPProvider
from web3.types import RPCEndpoint, RPCResponse

from agent.errors import ChainUnavailable, DefiAgentError


class _Provider(HTTPProvider):
    """HTTPProvider whose connection failures raise `ChainUnavailable` (exit code 5), so that a
    node dying in the middle of any command is reported the same way wherever it is noticed."""

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            return super().make_request(method, params)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise ChainUnavailable(
                f"the chain stopped answering ({type(error).__name__} during {method})",
                hint="check it with `defi-agent chain status`; `defi-agent chain up` starts it",
            ) from None


def connect(url: str, timeout: float = 30.0) -> Web3:
    """A Web3 client without web3.py's default middleware (it adds an eth_chainId per call)."""
    return Web3(_Provider(url, request_kwargs={"timeout": timeout}), middleware=[])


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    """One raw JSON-RPC call; node errors become `DefiAgentError`s naming the method."""
    response = w3.provider.make_request(RPCEndpoint(method), list(params))
    if "error" in response:
        error = response["error"]
        message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        raise DefiAgentError(f"{method} failed: {message}", code="rpc_error")
    return response["result"]
