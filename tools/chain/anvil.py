"""Start, find and stop anvil.

The native binary that npm installs for this platform is preferred over the Node wrapper in
node_modules/.bin: the wrapper adds 0.1-0.25 s to every start and exits on SIGTERM before anvil has
finished writing its state, leaving a truncated file.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from agent.errors import ChainUnavailable, DefiAgentError
from tools.chain.plain import Client, rpc

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_READY_TIMEOUT_S = 20.0


def native_package_name() -> str:
    system = {"linux": "linux", "darwin": "darwin", "windows": "win32"}[platform.system().lower()]
    return f"anvil-{system}-{_ARCH.get(platform.machine().lower(), platform.machine().lower())}"


def find_anvil(search_roots: tuple[Path, ...] = (Path.cwd(), PROJECT_ROOT)) -> Path:
    """The anvil binary: the npm platform package's native binary first, then `anvil` on PATH."""
    exe = "anvil.exe" if os.name == "nt" else "anvil"
    for root in search_roots:
        candidate = root / "node_modules" / "@foundry-rs" / native_package_name() / "bin" / exe
        if candidate.is_file():
            return candidate
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise ChainUnavailable(
        "anvil was not found in node_modules or on PATH",
        code="anvil_missing",
        hint="run `npm ci` in the project directory (or `make run`), or install Foundry",
    )


def port_is_free(port: int) -> bool:
    """Whether nothing listens on ``port`` (connections of a stopped chain still closing, in
    TIME_WAIT, do not stop anvil listening there, and do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def rpc_answers(url: str, timeout: float = 0.5) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return "result" in json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False


def redact(text: str, secret: str | None) -> str:
    """``text`` without ``secret``, a fork URL that may carry an API key (in its path, query or
    credentials). Every URL to the same host and port goes too: anvil writes the URL back
    normalised (the host lower-cased, a slash added, spaces percent-encoded)."""
    if not secret:
        return text
    text = text.replace(secret, "<RPC URL>")
    parts = urllib.parse.urlsplit(secret.strip())
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number: only the exact text is known
        return text
    if not host:
        return text
    where = re.escape(host) + (f":{port}" if port else "")
    url = re.compile(rf"[a-z][a-z0-9+.-]*://[^\s()<>\"']*?{where}[^\s()<>\"']*", re.IGNORECASE)
    return url.sub("<RPC URL>", text)


def redact_file(path: Path, secret: str | None) -> None:
    """Remove ``secret`` (a fork URL that may embed an API key) from a log anvil wrote."""
    if not secret or not path.is_file():
        return
    text = path.read_text(errors="replace")
    redacted = redact(text, secret)
    if redacted != text:
        path.write_text(redacted)


@dataclass
class AnvilOptions:
    """How to start anvil: a fresh chain, a saved state to load, or a fork of another chain."""

    port: int | None = None
    load_state: Path | None = None
    state: Path | None = None
    """Load from this file if it exists, and write the chain's state back to it on exit."""
    fork_url: str | None = None
    fork_block: int | None = None
    fork_cache: Path | None = None
    """Where a fork keeps what it read of the forked chain (anvil's home): a fork set over RPC
    cannot be told not to cache, and would write to the user's ~/.foundry."""
    chain_id: int | None = None
    timestamp: int | None = None
    extra: list[str] = field(default_factory=list)


class Anvil:
    """One anvil process; a context manager that always stops it, on errors and Ctrl-C too."""

    def __init__(self, options: AnvilOptions, log_path: Path, *, detach: bool = False) -> None:
        self.options = options
        self.log_path = log_path
        self.detach = detach
        self.port = options.port or 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        opts = self.options
        cmd = [str(find_anvil()), "--host", "127.0.0.1", "--port", str(self.port), "--silent"]
        if opts.load_state is not None:
            cmd += ["--load-state", str(opts.load_state)]
        if opts.state is not None:
            cmd += ["--state", str(opts.state)]
        if opts.chain_id is not None:
            cmd += ["--chain-id", str(opts.chain_id)]
        if opts.timestamp is not None:
            cmd += ["--timestamp", str(opts.timestamp)]
        return cmd + opts.extra

    def start(self) -> Anvil:
        if self.options.port is not None and not port_is_free(self.port):
            raise ChainUnavailable(
                f"port {self.port} is already in use",
                code="port_busy",
                hint="stop what listens there, or leave the port unset to pick a free one",
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = None
        if self.options.fork_cache is not None:
            self.options.fork_cache.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, "HOME": str(self.options.fork_cache)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=self.detach,
                env=env,
            )
        self._wait_ready()
        if self.options.fork_url is not None:
            self._fork(self.options.fork_url, self.options.fork_block)
        return self

    def _fork(self, url: str, block: int | None) -> None:
        """Turn the fresh chain into a fork of ``url`` (``anvil_reset``), as ``--fork-url``
        would, but without the URL in anvil's command line, which every user of the machine can
        read (`ps`): it may carry an API key."""
        forking: dict[str, object] = {"jsonRpcUrl": url}
        if block is not None:
            forking["blockNumber"] = block
        try:
            rpc(Client(self.url, timeout=_READY_TIMEOUT_S), "anvil_reset", {"forking": forking})
        except DefiAgentError as error:
            self.stop()
            reason = redact(error.message, url)[:300]
            raise ChainUnavailable(f"the fork URL did not answer: {reason}") from None

    def _listening_port(self) -> int:
        """The port our own process listens on: with ``--port 0`` anvil picks a free one itself,
        so no other process can take it between our choice and anvil's bind."""
        assert self.process is not None
        try:
            connections = psutil.Process(self.process.pid).net_connections("tcp")
        except psutil.Error:
            return 0
        return next((c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN), 0)

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + _READY_TIMEOUT_S
        delay = 0.002
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ChainUnavailable(
                    f"anvil exited with code {self.process.returncode} while starting: "
                    f"{self._log_tail()}",
                    hint=f"see {self.log_path}",
                )
            if not self.options.port:
                self.port = self._listening_port()
            if self.port and rpc_answers(self.url, timeout=1.0):
                return
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        self.stop()
        reason = "the fork URL did not answer" if self.options.fork_url else "anvil did not answer"
        raise ChainUnavailable(
            f"{reason} within {_READY_TIMEOUT_S:.0f} s", hint=f"see {self.log_path}"
        )

    def _log_tail(self) -> str:
        redact_file(self.log_path, self.options.fork_url)
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1][:300] if lines else "no output"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        redact_file(self.log_path, self.options.fork_url)

    def __enter__(self) -> Anvil:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
