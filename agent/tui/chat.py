"""The chat log: the user's lines, the agent's answers (Markdown) and plan cards."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Markdown, Static

SHOWN_CHARS = 300
"""The most of a request the log shows."""


class ChatLog(VerticalScroll, can_focus=False):
    """Not focusable itself, its cards are: typing after a Tab onto it was lost (QA).

    An answer goes right after the request it answers (``after``): requests typed while one is
    worked on are shown at once, and their answers come in between, in turn (QA: the requests
    were all listed first, then the answers)."""

    DEFAULT_CSS = """
    ChatLog { padding: 0 1; }
    ChatLog .user { color: $text-primary; margin-top: 1; }
    ChatLog Markdown { margin: 0; padding: 0; }
    """

    def on_mount(self) -> None:
        self.anchor()

    def add_user(self, text: str) -> Static:
        """The request as typed; a long one cut to `SHOWN_CHARS` (QA: 3,000 characters pasted
        filled the log before "that request is too long")."""
        shown = (
            text
            if len(text) <= SHOWN_CHARS
            else f"{text[:SHOWN_CHARS]}… ({len(text):,} characters)"
        )
        line = Static(f"> {shown}", classes="user", markup=False)
        self.mount(line)
        return line

    def add_agent(self, markdown: str, after: Widget | None = None) -> Markdown:
        message = Markdown(markdown)
        self.add_widget(message, after)
        return message

    def add_widget(self, widget: Widget, after: Widget | None = None) -> None:
        """At the end, or after ``after`` while it is still in the log (`/clear` removes it)."""
        self.mount(widget, after=after if after is not None and after.parent is self else None)

    def clear(self) -> None:
        self.remove_children()
