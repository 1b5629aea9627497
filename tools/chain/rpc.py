"""web3.py over the project's own connection (`tools.chain.plain.Client`): for the devnet's build
and the tests, which use web3's API; the agent itself talks JSON-RPC through `plain.rpc`."""

from __future__ import annotations

import json
from typing import Any, cast

from web3 import Web3
from web3.providers.rpc import HTTPProvider
from web3.types import RPCEndpoint, RPCResponse

from tools.chain.plain import Client


class _Provider(HTTPProvider):
    """web3's HTTP provider sending through a `Client`: its keep-alive connections, retries and
    errors. Parameters that are not plain JSON are encoded by web3."""

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(url)
        self.client = Client(url, timeout)

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            return cast(RPCResponse, self.client.make_request(method, params))
        except TypeError:
            body = self.encode_rpc_request(method, params)
            return cast(RPCResponse, json.loads(self.client.post(method, body)))


def connect(url: str, timeout: float = 30.0) -> Web3:
    """A Web3 client without web3.py's default middleware (it adds an eth_chainId per call)."""
    return Web3(_Provider(url, timeout), middleware=[])
