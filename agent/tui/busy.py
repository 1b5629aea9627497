"""A spinner with what the agent is doing, drawn in the prompt's border while a plan or command
worker runs. It changes no layout (the border is always there), so showing it redraws one line,
ten times a second, and only while there is work."""

from __future__ import annotations

import time

from rich.spinner import Spinner
from textual.timer import Timer
from textual.widget import Widget


class Busy:
    def __init__(self, host: Widget) -> None:
        self.host = host
        self._spinner = Spinner("dots")
        self._timer: Timer | None = None
        self.label = ""
        """What the agent is doing; empty when idle."""

    def start(self, label: str) -> None:
        self.label = label
        if self._timer is None:
            self._timer = self.host.set_interval(0.1, self._tick)
        self._tick()

    def stop(self) -> None:
        self.label = ""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.host.border_title = ""

    def _tick(self) -> None:
        frame = self._spinner.render(time.monotonic())
        self.host.border_title = f"{frame} {self.label}"
