"""The progress a headless run shows on a terminal: its bar counts the iterations done."""

from __future__ import annotations

from agent.cli.run import _HumanView
from agent.runner.events import EntryStarted, StrategyStarted, Waiting


def test_the_bar_counts_an_iteration_done_while_the_next_is_waited_for() -> None:
    """QA: after the first of three iterations the bar said 0/3 while it waited for the next,
    and 1/3 after the second."""
    view = _HumanView("dca")
    view.show(StrategyStarted("r1", "dca", "s1", False, 0, 3))
    view.show(EntryStarted("r1", 1, 1, "buy ETH with 100 USDC"))
    assert view.progress.tasks[0].completed == 0
    view.show(Waiting("r1", "interval", "until block 12", 12))
    assert view.progress.tasks[0].completed == 1
    view.show(EntryStarted("r1", 2, 1, "buy ETH with 100 USDC"))
    view.show(Waiting("r1", "interval", "until block 17", 17))
    assert (view.progress.tasks[0].completed, view.progress.tasks[0].total) == (2, 3)
    view.show(EntryStarted("r1", 3, 1, "buy ETH with 100 USDC"))
    view.show(Waiting("r1", "retry", "1s before attempt 2"))  # within the third: 2 done
    assert view.progress.tasks[0].completed == 2
