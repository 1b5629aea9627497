"""What a strategy run reports besides the core service's own events (plan, simulation, decision,
transaction, outcome): its start, each entry, the waits between iterations, and its end."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StrategyStarted:
    run_id: str
    name: str
    session: str
    resumed: bool
    iteration: int
    """Iterations already done (non-zero when a run is resumed)."""
    count: int | None
    previous: str | None = None
    """A new run of a file that was run to its end before: when that was, in words."""


@dataclass(frozen=True)
class EntryStarted:
    run_id: str
    iteration: int
    """1-based."""
    entry: int
    """1-based position in the strategy's steps."""
    description: str
    attempt: int = 1


@dataclass(frozen=True)
class EntrySkipped:
    run_id: str
    iteration: int
    entry: int
    reason: str


@dataclass(frozen=True)
class Waiting:
    run_id: str
    reason: str
    """``trigger`` (the strategy's `when`), ``interval`` (between iterations) or ``retry`` (before an
    entry's next attempt)."""
    detail: str
    until_block: int | None = None


@dataclass(frozen=True)
class StrategyDone:
    run_id: str
    status: str
    """``done``, ``dry_run``, ``interrupted``, ``failed`` or ``denied``."""
    iterations: int
    message: str
    exit_code: int


RunEvent = StrategyStarted | EntryStarted | EntrySkipped | Waiting | StrategyDone
