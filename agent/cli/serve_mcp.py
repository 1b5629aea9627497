"""`defi-agent mcp [--allow-execute]`: the agent as an MCP server over stdio."""

from __future__ import annotations

from typing import Annotated

import typer


def mcp(
    allow_execute: Annotated[
        bool,
        typer.Option(
            "--allow-execute",
            help="Let the assistant execute simulated plans (always within the session's policy).",
        ),
    ] = False,
) -> None:
    """Serve the agent to an MCP client (Claude Desktop, Cursor, ...) over stdin/stdout."""
    import asyncio

    from agent.cli.context import service
    from agent.mcp_server import AgentTools, build_server, serve_stdio

    svc, _chain = service()
    server = build_server(AgentTools(svc, allow_execute=allow_execute))
    asyncio.run(serve_stdio(server))
