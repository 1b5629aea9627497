"""The request input, with history on up / down."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input


class Prompt(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history(-1)", "previous", show=False),
        Binding("down", "history(1)", "next", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(
            placeholder="swap 1 ETH for USDC · earn yield on my USDC · /help",
            id="prompt",
            select_on_focus=False,  # text typed on a card goes on here: nothing to overwrite
        )
        self.history: list[str] = []
        self._cursor = 0

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._cursor = len(self.history)

    def submit(self) -> None:
        """The request is taken out of the input as its Enter is read, so that keys typed after
        it (already on their way) start the next one instead of being cleared with it."""
        value, self.value = self.value, ""
        self.post_message(self.Submitted(self, value))

    async def action_submit(self) -> None:
        self.submit()

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._cursor = max(0, min(len(self.history), self._cursor + step))
        self.value = self.history[self._cursor] if self._cursor < len(self.history) else ""
        self.cursor_position = len(self.value)
