"""The help screen: keys and slash commands."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from agent.tui.commands import COMMANDS

KEYS = {
    "enter": "send the request",
    "up / down": "previous / next request",
    "y": "execute the plan shown",
    "d": "dry run: simulate again now, send nothing; the plan stays open",
    "n": "discard the plan",
    "e": "edit the request",
    "escape": "in an empty input: back to the open plan's keys",
    "f1": "this help",
    "ctrl+q": "quit",
}

TEXT = "\n".join(
    [
        "# defi-agent",
        "Type what you want in plain words: *swap 1 ETH for USDC*, *supply 1000 USDC to aave*,",
        "*earn yield on my USDC at low risk*, or ask: *what's my health factor?* Every plan is simulated and",
        "checked against your session's policy before anything is signed.",
        "",
        "## Keys",
        *[f"- **{k}**: {v}" for k, v in KEYS.items()],
        "",
        "## Commands",
        *[f"- **{k}**: {v}" for k, v in COMMANDS.items()],
        "",
        "*Press escape to close.*",
    ]
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "app.pop_screen", "close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 76; max-height: 22; border: round $primary; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(TEXT)
