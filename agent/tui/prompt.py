"""The request input, with history on up / down."""

from __future__ import annotations

from typing import ClassVar

from textual import events
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
        self._draft = ""
        """What was being typed when up left it: down past the last request brings it back."""

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._cursor = len(self.history)

    async def _on_key(self, event: events.Key) -> None:
        """The input's own keys (Enter, backspace, home, ctrl+u, ...) act as they are read, in
        order with the characters around them: Textual runs a binding once its key has bubbled
        up to the app, after the characters that came with it (QA: "...for DAI", Enter and "x"
        sent so fast they arrived together submitted "...for DAIx"; two pasted lines were one
        request)."""
        if not event.is_printable and await self.type_key(event):
            event.stop()
            event.prevent_default()

    async def type_key(self, event: events.Key) -> bool:
        """``event`` read by the input at once: a character typed, or the input's binding for the
        key run; False for a key the input has no use for."""
        if event.is_printable:
            self.insert_text_at_cursor(event.character or "")
            return True
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if not binding.priority and await self.app.run_action(binding.action, self):
                return True
        return False

    def paste(self, text: str) -> None:
        """Text pasted somewhere else in the app, taken as the input takes a paste: its first line."""
        lines = text.splitlines()
        if lines:
            self.insert_text_at_cursor(lines[0])

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
        if self._cursor == len(self.history):
            self._draft = self.value  # QA: "x", up, down left the prompt empty
        self._cursor = max(0, min(len(self.history), self._cursor + step))
        at_end = self._cursor == len(self.history)
        self.value = self._draft if at_end else self.history[self._cursor]
        self.cursor_position = len(self.value)
