"""The chain of a data directory: one anvil kept running in the background between commands.

`up` starts it (the cached devnet image for profile ``local``, or a fork of ``rpc_url`` for profile
``fork``) and records its pid, port and address book in ``chain.json``; other commands connect to it
through `ensure`, which starts the local devnet itself when none is up. The fork URL may carry an API
key: it is never written to ``chain.json``, logs or messages.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psutil

from agent.errors import ChainUnavailable, ConfigError, DefiAgentError
from tools.chain.addressbook import AddressBook
from tools.chain.anvil import (
    Anvil,
    AnvilOptions,
    port_is_free,
    redact,
    redact_file,
    rpc_answers,
)
from tools.chain.plain import Client, Node, clock, head, rpc

Notify = Callable[[str], None]
Rewound = Callable[[int], None]
BOOKS_DIR = Path(__file__).with_name("books")
CANONICAL_BOOKS = {1: "ethereum.json", 8453: "base.json"}
DEVNET_WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
DEVNET_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
"""anvil's first account, used on the devnet when no key is configured (a well-known test key)."""


@dataclass(frozen=True)
class ChainConfig:
    data_dir: Path
    profile: Literal["local", "fork"] = "local"
    wallet: str = DEVNET_WALLET
    rpc_url: str | None = None
    fork_block: int | None = None
    on_rewind: Rewound | None = None
    """Called with the chain id before a chain starts over from an earlier state than the one it
    was last at: a fork (always new), the devnet's image, or, after its anvil was killed, the
    state saved when it was last stopped. Its clock may be put back, so sessions must not carry
    over (an expired one would live again)."""


@dataclass(frozen=True)
class RunningChain:
    profile: str
    pid: int
    port: int
    chain_id: int
    book: AddressBook

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def log_path(data_dir: Path) -> Path:
    return data_dir / "logs" / "anvil.log"


def _fork_cache(data_dir: Path) -> Path:
    """What a fork read of the forked chain, kept while it runs (`AnvilOptions.fork_cache`)."""
    return data_dir / "fork-cache"


def _state_file(data_dir: Path) -> Path:
    return data_dir / "chain.json"


def _is_our_anvil(pid: int) -> bool:
    """Whether ``pid`` is an anvil that still runs (a killed one may linger as a zombie)."""
    try:
        process = psutil.Process(pid)
        return "anvil" in process.name() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


BUSY_TIMEOUT = 5.0
"""How long a chain whose anvil is alive may take to answer before it is reported as hung."""


def status(data_dir: Path) -> RunningChain | None:
    """The chain recorded for ``data_dir`` if its anvil is alive and answering; None when none is
    (its record is then forgotten). `ChainUnavailable` when its anvil is alive but does not answer:
    starting another one in its place would fork the chain's history."""
    path = _state_file(data_dir)
    try:
        record = json.loads(path.read_text())
        chain = RunningChain(
            profile=record["profile"],
            pid=record["pid"],
            port=record["port"],
            chain_id=record["chain_id"],
            book=AddressBook.model_validate(record["book"]),
        )
    except (OSError, ValueError, KeyError):
        return None
    if not _is_our_anvil(chain.pid):
        path.unlink(missing_ok=True)
        return None
    if rpc_answers(chain.url) or rpc_answers(chain.url, timeout=BUSY_TIMEOUT):
        return chain
    raise ChainUnavailable(
        f"the chain of this data directory (anvil, pid {chain.pid}, port {chain.port}) is "
        f"running but did not answer within {BUSY_TIMEOUT:g} s",
        hint="try again; if it stays hung, `defi-agent chain down` stops it (its state is kept)",
    )


def canonical_book(chain_id: int, data_dir: Path) -> AddressBook:
    """The address book for a forked chain: the canonical one for a live network, or the devnet's
    own when the fork's upstream is a devnet of this data directory."""
    if chain_id in CANONICAL_BOOKS:
        return AddressBook.load(BOOKS_DIR / CANONICAL_BOOKS[chain_id])
    for book_path in sorted((data_dir / "devnet").glob("*/book.json")):
        book = AddressBook.load(book_path)
        if book.chain_id == chain_id:
            return book.model_copy(update={"profile": "fork"})
    known = ", ".join(str(c) for c in CANONICAL_BOOKS)
    raise ConfigError(
        f"no address book for chain id {chain_id}", hint=f"the fork profile knows chain ids {known}"
    )


def saved_state(data_dir: Path) -> Path:
    return data_dir / "chain-state.json"


def _live_file(data_dir: Path) -> Path:
    """While the devnet runs: the saved state's mtime when it started. The same mtime at the next
    start means its anvil never wrote the state back (it was killed): the chain went back."""
    return data_dir / "chain-state.live"


def _written_since_start(state: Path, live: Path) -> bool:
    try:
        return live.read_text() != str(state.stat().st_mtime_ns)
    except OSError:
        return not live.exists()


def _start_local(config: ChainConfig, log: Path, notify: Notify) -> tuple[Anvil, AddressBook]:
    """The devnet, continuing from the state it was stopped in when there is one, else from the
    cached image. anvil writes the state back to the data directory when it stops."""
    from tools.devnet.cache import cache_key, prepare

    image = prepare(config.data_dir, config.wallet, notify)
    state, key_file = saved_state(config.data_dir), config.data_dir / "chain-state.key"
    live = _live_file(config.data_dir)
    key = cache_key(config.wallet)
    rewound = not state.exists()
    if state.exists() and (not key_file.exists() or key_file.read_text() != key):
        notify(
            "the devnet image changed since the chain was last stopped; starting from the new image"
        )
        state.unlink()
        rewound = True
    elif state.exists() and not _written_since_start(state, live):
        notify(
            "the chain was not stopped cleanly (its anvil was killed): it continues from the state "
            "saved when it was last stopped, and what happened on it since is gone"
        )
        rewound = True
    if not state.exists():
        shutil.copyfile(image.state, state)
        key_file.write_text(key)
    if rewound and config.on_rewind is not None:
        config.on_rewind(image.book.chain_id)
    port = _last_port(config.data_dir)
    try:
        anvil = _start_at(port, state, log)
    except ChainUnavailable:
        notify("the saved chain state could not be loaded; starting from the devnet image")
        if config.on_rewind is not None:
            config.on_rewind(image.book.chain_id)
        shutil.copyfile(image.state, state)
        anvil = _start_at(port, state, log)
    live.write_text(str(state.stat().st_mtime_ns))
    (config.data_dir / "chain.port").write_text(str(anvil.port))
    _keep_clock(Client(anvil.url), _saved_offset(config.data_dir))
    return anvil, image.book


def _start_at(port: int | None, state: Path, log: Path) -> Anvil:
    """anvil on ``port`` (any free one when None, or when it was taken meanwhile)."""
    try:
        return Anvil(AnvilOptions(port=port, state=state), log, detach=True).start()
    except ChainUnavailable as error:
        if port is None or error.code != "port_busy":
            raise
        return Anvil(AnvilOptions(state=state), log, detach=True).start()


def _last_port(data_dir: Path) -> int | None:
    """The port the devnet had the last time, when it is free: a chat left open across `chain
    down` and `chain up` finds the chain where it was."""
    try:
        port = int((data_dir / "chain.port").read_text())
    except (OSError, ValueError):
        return None
    return port if port_is_free(port) else None


def _keep_clock(client: Node, offset: int) -> None:
    """A chain stopped after `chain warp` is ahead of the wall clock, and anvil would mine the next
    block in its past: time going backwards breaks Aave's interest maths (every read reverts).
    Continue as far ahead of the wall clock as it was when stopped (``offset``; sessions begun
    since its last block were void after a restart, stamped later than the chain's now), and
    at least after its last block."""
    latest = head(client)[1]
    now = int(time.time())
    wanted = max(now + offset, latest + 1 if latest >= now else 0)
    if wanted > now:
        rpc(client, "evm_setTime", wanted)


def _clock_file(data_dir: Path) -> Path:
    return data_dir / "chain-clock.json"


def _saved_offset(data_dir: Path) -> int:
    """How far ahead of the wall clock the devnet's time was when it was last stopped."""
    try:
        return int(json.loads(_clock_file(data_dir).read_text())["ahead_seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _save_offset(data_dir: Path, url: str) -> None:
    """Record how far ahead of the wall clock the chain's time is (`chain warp`), for the next
    `chain up`; nothing when it does not answer."""
    try:
        ahead = clock(Client(url, timeout=2.0))[1] - int(time.time())
    except (DefiAgentError, OSError):
        return
    _clock_file(data_dir).write_text(json.dumps({"ahead_seconds": max(0, ahead)}))


def discard_state(data_dir: Path) -> None:
    """Forget the state the devnet was stopped in, so the next `up` starts from the image."""
    saved_state(data_dir).unlink(missing_ok=True)
    _clock_file(data_dir).unlink(missing_ok=True)
    _live_file(data_dir).unlink(missing_ok=True)


@contextmanager
def _one_at_a_time(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's chain while starting or stopping it: three `chain up` at once
    each started an anvil on one state file, the state was lost, and the two not recorded in
    ``chain.json`` ran on. The lock goes with the process that holds it, however it ends."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "chain.lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield


def up(config: ChainConfig, notify: Notify) -> RunningChain:
    """Start the chain of ``config`` in the background, or return the one already running (one
    another command started meanwhile, too)."""
    running = status(config.data_dir)
    if running is not None:
        return _configured(running, config)
    with _one_at_a_time(config.data_dir):
        running = status(config.data_dir)
        return _configured(running, config) if running is not None else _up(config, notify)


def _configured(running: RunningChain, config: ChainConfig) -> RunningChain:
    """``running``, when it is the profile ``config`` asks for (QA: with the devnet up, a fork
    asked for was the devnet, without a word)."""
    if running.profile != config.profile:
        raise ChainUnavailable(
            f"the {running.profile} chain is running in this data directory (chain "
            f"{running.chain_id}, port {running.port}), not the {config.profile} one configured",
            hint=f"`defi-agent chain down` stops it; then `chain up` starts the {config.profile} one",
        )
    return running


def _up(config: ChainConfig, notify: Notify) -> RunningChain:
    log = log_path(config.data_dir)
    if config.profile == "local":
        anvil, book = _start_local(config, log, notify)
    else:
        if not config.rpc_url:
            raise ConfigError(
                "the fork profile needs an RPC URL", hint="set DEFI_AGENT_RPC_URL in .env"
            )
        options = AnvilOptions(
            fork_url=config.rpc_url,
            fork_block=config.fork_block,
            fork_cache=_fork_cache(config.data_dir),
        )
        anvil = Anvil(options, log, detach=True)
        try:
            anvil.start()
        except ChainUnavailable as error:
            raise ChainUnavailable(
                redact(error.message, config.rpc_url),
                hint="check DEFI_AGENT_RPC_URL and your network",
            ) from None
        w3 = Client(anvil.url)
        chain_id = int(rpc(w3, "eth_chainId"), 16)
        try:
            book = canonical_book(chain_id, config.data_dir)
        except ConfigError:
            anvil.stop()
            raise
        if chain_id in CANONICAL_BOOKS:
            from tools.aave_v3.reads import live_book

            book = live_book(w3, book)
        if config.on_rewind is not None:
            config.on_rewind(chain_id)
    assert anvil.process is not None
    chain = RunningChain(config.profile, anvil.process.pid, anvil.port, book.chain_id, book)
    record = {
        "profile": chain.profile,
        "pid": chain.pid,
        "port": chain.port,
        "chain_id": chain.chain_id,
        "book": book.model_dump(),
    }
    _state_file(config.data_dir).write_text(json.dumps(record, indent=2))
    return chain


def down(data_dir: Path, fork_url: str | None = None) -> bool:
    """Stop the chain of ``data_dir``; False when none was running. The fork URL, when given, is
    scrubbed from anvil's log."""
    with _one_at_a_time(data_dir):
        return _down(data_dir, fork_url)


def _down(data_dir: Path, fork_url: str | None) -> bool:
    redact_file(log_path(data_dir), fork_url)
    path = _state_file(data_dir)
    try:
        record = json.loads(path.read_text())
        pid = int(record["pid"])
    except (OSError, ValueError, KeyError):
        return False
    path.unlink(missing_ok=True)
    if not _is_our_anvil(pid):
        return False
    process = psutil.Process(pid)
    process.resume()  # a stopped (hung) anvil must run to save its state on SIGTERM
    if record.get("profile") == "local" and "port" in record:
        _save_offset(data_dir, f"http://127.0.0.1:{record['port']}")
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except psutil.TimeoutExpired:
        process.kill()
    redact_file(log_path(data_dir), fork_url)
    shutil.rmtree(_fork_cache(data_dir), ignore_errors=True)
    return True


def ensure(config: ChainConfig, notify: Notify) -> RunningChain:
    """The running chain, starting the configured one in the background when none is up."""
    running = status(config.data_dir)
    if running is not None:
        return _configured(running, config)
    chain = up(config, notify)
    notify(
        f"started the {config.profile} chain in the background on port {chain.port} "
        "(`defi-agent chain down` stops it)"
    )
    return chain


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdwy])\s*$", re.ASCII)
_BACKWARDS = re.compile(r"-\s*[0-9.]")
MAX_DURATION_S = 100 * _UNITS["y"]
"""Beyond a century the chain's clock is no use to anyone, and anvil refuses a u128's worth."""


def is_duration(text: str) -> bool:
    """Whether ``text`` reads as a duration (`parse_duration` may still refuse it: "0h")."""
    return _DURATION.match(text.lower()) is not None


def parse_duration(text: str) -> int:
    """``"30d"`` -> seconds. Units: s, m, h, d, w, y."""
    if _BACKWARDS.match(text):
        raise ConfigError(
            f"the chain's clock only moves forward: {text!r} is back in time",
            hint="warp by a positive duration, e.g. 12h; `chain reset` starts the chain over",
        )
    match = _DURATION.match(text.lower())
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(
            f"invalid duration {text!r}", hint="use a number and a unit, e.g. 90s, 12h, 30d, 2w"
        )
    seconds = int(float(match.group(1)) * _UNITS[match.group(2)])
    if seconds > MAX_DURATION_S:
        raise ConfigError(f"duration {text!r} is more than 100 years", hint="warp at most 100y")
    return seconds


def advance_time(client: Node, seconds: int) -> int:
    """Advance a chain's clock by ``seconds`` and mine a block; returns the new timestamp."""
    rpc(client, "evm_increaseTime", seconds)
    rpc(client, "evm_mine")
    return head(client)[1]
