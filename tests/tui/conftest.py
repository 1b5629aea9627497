"""The chat app, built by the same factory `defi-agent chat` uses, on the session's devnet."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.tui.app import DefiAgentApp, create_app
from agent.tui.prompt import Prompt
from agent.wiring import build_service


@pytest.fixture
def make_app(devnet, tmp_path: Path) -> Callable[..., DefiAgentApp]:
    def make(url: str | None = None) -> DefiAgentApp:
        service = build_service(url=url or devnet.url, book=devnet.book, data_dir=tmp_path / "data")
        return create_app(lambda: (service, "local"), block_poll_seconds=0.2)

    return make


async def until(pilot, condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the app did not get there in time")
        await pilot.pause(0.05)
        await asyncio.sleep(0.01)


async def say(pilot, text: str) -> None:
    prompt = pilot.app.query_one(Prompt)
    prompt.focus()
    prompt.value = text
    await pilot.press("enter")
