"""Slash commands typed in the chat input, parsed without any UI or chain code."""

from __future__ import annotations

from dataclasses import dataclass

COMMANDS = {
    "/help": "show the keys and commands",
    "/portfolio": "balances, Aave positions and health factor",
    "/session": "the session's limits and what is left; /session new [POLICY] [TTL], /session revoke",
    "/warp": "advance the devnet's clock, e.g. /warp 30d",
    "/model": "switch parser: /model offline, or /model provider:name",
    "/journal": "the last plans and their outcome",
    "/clear": "clear the chat",
    "/quit": "quit, as ctrl+q does (a plan being sent is finished first)",
}
QUIT_WORDS = frozenset({"exit", "quit", "bye", "q", ":q", "exit()", "quit()"})
"""Typed alone, they are answered with how to quit, not taken as a request; they do not quit
themselves (typed by mistake, they would end the app)."""


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...]


class UnknownCommand(ValueError):
    pass


def parse_command(text: str) -> Command | None:
    """A `Command` for ``/name args...``; None for anything that is not a slash command."""
    if not text.startswith("/"):
        return None
    name, *args = text.split()
    if name not in COMMANDS:
        raise UnknownCommand(f"unknown command {name}: try /help")
    return Command(name, tuple(args))
