"""Which process holds a plan or a strategy run (a second process must not execute it too), and
whose turn it is to send from a wallet."""

from __future__ import annotations

import asyncio
import fcntl
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path


def alive(pid: int | None) -> bool:
    """Whether process ``pid`` exists (another user's counts)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def held_elsewhere(pid: int | None) -> bool:
    """Whether ``pid``, as recorded on a plan or a run, is another process that is still alive."""
    return pid is not None and pid != os.getpid() and alive(pid)


@asynccontextmanager
async def wallet_turn(address: str, chain_id: int) -> AsyncIterator[None]:
    """This process's turn to execute a plan from ``address`` on ``chain_id``, across processes
    and data directories: the next waits until it is done, then finds the chain as it left it."""
    path = Path(tempfile.gettempdir()) / f"defi-agent-{chain_id}-{address.lower()}.lock"
    with path.open("a") as handle:
        await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
