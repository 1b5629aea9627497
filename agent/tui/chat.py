"""The chat log: the user's lines, the agent's answers (Markdown) and plan cards."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Markdown, Static


class ChatLog(VerticalScroll, can_focus=False):
    """Not focusable itself, its cards are: typing after a Tab onto it was lost (QA)."""

    DEFAULT_CSS = """
    ChatLog { padding: 0 1; }
    ChatLog .user { color: $text-primary; margin-top: 1; }
    ChatLog Markdown { margin: 0; padding: 0; }
    """

    def on_mount(self) -> None:
        self.anchor()

    def add_user(self, text: str) -> None:
        self.mount(Static(f"> {text}", classes="user", markup=False))

    def add_agent(self, markdown: str) -> Markdown:
        message = Markdown(markdown)
        self.mount(message)
        return message

    def add_widget(self, widget: Widget) -> None:
        self.mount(widget)

    def clear(self) -> None:
        self.remove_children()
