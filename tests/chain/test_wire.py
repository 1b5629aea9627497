"""The JSON-RPC wire client against a real HTTP server: keep-alive reuse, chunked answers,
HTTP/1.0 answers that close, and a node that closed an idle connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from tools.chain.wire import Connection


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: ClassVar[list[int]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.connections.append(id(self.connection))
        if body == b"chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world"):
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        if body == b"old":
            self.protocol_version = "HTTP/1.0"
        if body == b"drop":
            self.close_connection = True  # closes after answering, without saying so
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Echo.connections.clear()
    yield "127.0.0.1", httpd.server_address[1]
    httpd.shutdown()


def test_keep_alive_chunked_and_closing_answers(server: tuple[str, int]) -> None:
    conn = Connection(*server, timeout=5)

    assert conn.post("/", b'{"a": 1}') == b'{"a": 1}'
    assert conn.post("/", b"chunked") == b"hello chunked world"
    assert conn.usable()
    assert len(set(_Echo.connections)) == 1  # one socket for all of them

    assert conn.post("/", b"old") == b"old"  # an HTTP/1.0 answer closes the connection
    assert not conn.usable()


def test_a_connection_the_server_closed_while_idle_is_not_reused(
    server: tuple[str, int],
) -> None:
    conn = Connection(*server, timeout=5)
    assert conn.post("/", b"drop") == b"drop"
    deadline = time.monotonic() + 5
    while conn.usable() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not conn.usable()
