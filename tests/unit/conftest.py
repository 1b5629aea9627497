"""Unit tests make no network calls: any connection beyond loopback fails loudly, so a test can
never reach a hosted LLM by accident."""

from __future__ import annotations

import socket

import pytest

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else str(address)
    if isinstance(host, str) and not host.startswith(("127.", "::1", "localhost", "/")):
        raise RuntimeError(f"unit tests may not connect to {host}")
    _real_connect(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
