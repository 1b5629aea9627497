"""The connection to a node: a lean web3.py client that reports transport failures as our errors."""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any, cast
from urllib.parse import urlsplit

from web3 import Web3
from web3.providers.rpc import HTTPProvider
from web3.types import RPCEndpoint, RPCResponse

from tools.chain.plain import unanswered
from tools.chain.wire import Connection

_NEVER_RETRIED = "eth_send"
"""Transaction sends: if the node may have received one, sending it again is not our call."""
_HEADERS = {"Content-Type": "application/json", "Connection": "keep-alive"}


class _Provider(HTTPProvider):
    """web3.py's HTTP provider over one keep-alive connection per thread (`tools.chain.wire` for
    plain HTTP, `http.client` for HTTPS), whose transport failures raise `ChainUnavailable` (exit
    code 5), so that a node dying in the middle of any command is reported the same way wherever
    it is noticed. A read that meets a connection the node closed while idle is retried once on a
    new one; a transaction send never is. A round trip to a local anvil takes ~0.1 ms this way,
    ~0.85 ms through requests."""

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(url)
        parts = urlsplit(url)
        self._secure = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._secure else 80)
        self._path = parts.path or "/"
        self._timeout = timeout
        self._local = threading.local()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        """One JSON-RPC call, encoded with the standard library when the parameters are plain
        JSON (they are, from this project's own calls); web3's encoder otherwise."""
        request = {"jsonrpc": "2.0", "method": method, "params": params or [], "id": 1}
        try:
            body = json.dumps(request).encode()
        except TypeError:
            body = self.encode_rpc_request(method, params)
        return cast(RPCResponse, json.loads(self._make_request(method, body)))

    def _post(self, body: bytes) -> bytes:
        conn = getattr(self._local, "conn", None)
        if conn is None or (isinstance(conn, Connection) and not conn.usable()):
            if self._secure:
                conn = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout)
            else:
                conn = Connection(self._host, self._port, self._timeout)
            self._local.conn = conn
        if isinstance(conn, Connection):
            return conn.post(self._path, body)
        conn.request("POST", self._path, body, _HEADERS)
        return conn.getresponse().read()

    def _make_request(self, method: RPCEndpoint, request_data: bytes) -> bytes:
        retried = False
        while True:
            try:
                return self._post(request_data)
            except (OSError, ValueError, http.client.HTTPException) as error:
                conn = getattr(self._local, "conn", None)
                if conn is not None:
                    conn.close()
                self._local.conn = None
                if retried or method.startswith(_NEVER_RETRIED) or isinstance(error, TimeoutError):
                    raise unanswered(method, error) from None
                retried = True


def connect(url: str, timeout: float = 30.0) -> Web3:
    """A Web3 client without web3.py's default middleware (it adds an eth_chainId per call)."""
    return Web3(_Provider(url, timeout), middleware=[])
