"""A minimal HTTP/1.1 keep-alive client for JSON-RPC POSTs to a node on plain HTTP.

`http.client` parses every response's headers with the email package, which cost more than the
round trip itself to a local anvil; this reads only what a JSON-RPC answer needs (status line,
Content-Length or chunked encoding, Connection: close). Anything it does not understand is an
`OSError`, which the provider reports as the chain not answering.
"""

from __future__ import annotations

import select
import socket


class WireError(OSError):
    """The node answered something that is not an HTTP/1.1 response we can read."""


class Connection:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.host = f"{host}:{port}"
        self.buffer = b""
        self.open = True

    def close(self) -> None:
        self.open = False
        self.sock.close()

    def post(self, path: str, body: bytes) -> bytes:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.sock.sendall(head.encode() + body)
        header = self._until(b"\r\n\r\n")
        lines = header.split(b"\r\n")
        if not lines[0].startswith(b"HTTP/1."):
            raise WireError(f"not an HTTP response: {lines[0][:40]!r}")
        old_http = lines[0].startswith(b"HTTP/1.0")
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip().lower()
        if b"content-length" in fields:
            answer = self._exactly(int(fields[b"content-length"]))
        elif fields.get(b"transfer-encoding") == b"chunked":
            answer = self._chunks()
        else:
            raise WireError("a response without a length")
        connection = fields.get(b"connection")
        if connection == b"close" or (old_http and connection != b"keep-alive"):
            self.close()
        return answer

    def usable(self) -> bool:
        """Open, and not closed by the node while idle (an idle connection that reads as ready
        has been closed, or holds bytes nobody asked for)."""
        if not self.open:
            return False
        ready, _, _ = select.select([self.sock], [], [], 0)
        if ready:
            self.close()
        return not ready

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionResetError("the node closed the connection")
        self.buffer += data

    def _until(self, marker: bytes) -> bytes:
        while (end := self.buffer.find(marker)) < 0:
            self._fill()
        found, self.buffer = self.buffer[:end], self.buffer[end + len(marker) :]
        return found

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found

    def _chunks(self) -> bytes:
        parts = []
        while size := int(self._until(b"\r\n").split(b";")[0], 16):
            parts.append(self._exactly(size))
            self._exactly(2)
        self._until(b"\r\n")
        return b"".join(parts)
