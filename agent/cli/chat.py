"""`defi-agent chat`: the Textual chat UI on the data directory's chain."""

from __future__ import annotations


def chat() -> None:
    """Chat with the agent: plans, simulations and policy verdicts before anything is signed."""
    from agent.cli.context import service
    from agent.tui.app import create_app

    built, chain = service()
    create_app(lambda: (built, chain.profile)).run()
