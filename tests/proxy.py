"""A JSON-RPC proxy in front of a real anvil that can make the chain go away at a chosen moment:
after a number of requests, or right after forwarding a given method (its answer never returns,
as when the node dies after accepting a transaction); or let someone else act on the chain just
before a given method is forwarded (another transaction landing first); or answer that a method
does not exist, as a node that lacks it does; or answer a forwarded method with an error; or go
away just before a given method, which never reaches the chain."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ChainProxy(ThreadingHTTPServer):
    def __init__(
        self,
        upstream: str,
        *,
        budget: int | None = None,
        drop_answer_to: str | None = None,
        on_cut: Callable[[], None] | None = None,
        first_before: tuple[str, Callable[[], None]] | None = None,
        delay: float = 0.0,
        unknown: str | None = None,
        time_out: str | None = None,
        cut_before: str | None = None,
    ) -> None:
        self.cut_before = cut_before
        """A method never forwarded: the chain goes away just before it (a process killed
        between signing a transaction and sending it)."""
        self.first_before = first_before
        self.time_out = time_out
        """A method forwarded, then answered with the node's "confirmation timeout" error (a
        transaction the node accepted and did not see mined in its time)."""
        self.unknown = unknown
        """A method answered with JSON-RPC's "method not found" instead of being forwarded."""
        self.delay = delay
        """Seconds every answer is held back: a slow network to a real node."""
        self.upstream, self.budget, self.drop_answer_to, self.on_cut = (
            upstream,
            budget,
            drop_answer_to,
            on_cut,
        )
        self.cut = False
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Forward)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def _cut(self) -> None:
        if not self.cut:
            self.cut = True
            if self.on_cut is not None:
                self.on_cut()


class _Forward(BaseHTTPRequestHandler):
    server: ChainProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        proxy = self.server
        with proxy.lock:
            if proxy.budget is not None:
                proxy.budget -= 1
                if proxy.budget < 0:
                    proxy._cut()
            refuse = proxy.cut
        if refuse:
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        method = json.loads(body).get("method") if body.startswith(b"{") else None
        if method is not None and method == proxy.cut_before:
            with proxy.lock:
                proxy._cut()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        with proxy.lock:
            hook, proxy.first_before = (
                (proxy.first_before, None)
                if proxy.first_before and proxy.first_before[0] == method
                else (None, proxy.first_before)
            )
        if hook is not None:
            hook[1]()
        time.sleep(proxy.delay)
        if method is not None and method == proxy.unknown:
            missing = {"code": -32601, "message": f"Method not found: {method}"}
            payload = json.dumps({"jsonrpc": "2.0", "id": 1, "error": missing}).encode()
        else:
            request = urllib.request.Request(
                proxy.upstream, data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request) as response:
                payload = response.read()
        if method is not None and method == proxy.time_out:
            timeout = {"code": -32603, "message": "Transaction confirmation timeout"}
            payload = json.dumps({"jsonrpc": "2.0", "id": 1, "error": timeout}).encode()
        if proxy.drop_answer_to is not None and method == proxy.drop_answer_to:
            with proxy.lock:
                proxy._cut()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return
