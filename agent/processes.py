"""Which process holds a plan or a strategy run: a second process must not execute it too."""

from __future__ import annotations

import os


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
