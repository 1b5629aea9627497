"""The chat app, built by the same factory `defi-agent chat` uses, on a real devnet."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.tui.app import DefiAgentApp, create_app
from agent.tui.prompt import Prompt
from agent.wiring import build_service
from tools.chain.anvil import Anvil, AnvilOptions
from tools.chain.plain import Client, head, rpc
from tools.uniswap_v3.adapter import DEADLINE_SECONDS


@pytest.fixture
def make_app(devnet, tmp_path: Path) -> Callable[..., DefiAgentApp]:
    """Apps on the session's devnet (reverted after the test)."""

    def make(url: str | None = None) -> DefiAgentApp:
        service = build_service(url=url or devnet.url, book=devnet.book, data_dir=tmp_path / "data")
        return create_app(lambda: (service, "local"), block_poll_seconds=0.2)

    return make


@pytest.fixture
def fresh_app(devnet_image, tmp_path: Path) -> Iterator[Callable[[], DefiAgentApp]]:
    """An app on its own anvil, loaded from the devnet image: no history from other tests
    (base fee, clock offsets), so what it shows is the same on every run. An hour passes first:
    a swap then always writes a new price observation, so its gas does not depend on whether the
    test reached the chain within the second it was loaded. The hour ends at a time whose swap
    deadline has no zero byte: a zero byte of calldata costs 12 gas less, and the gas is shown."""
    with Anvil(AnvilOptions(load_state=devnet_image.state), tmp_path / "anvil.log") as anvil:
        client = Client(anvil.url)
        _, latest = head(client)
        then = latest + 3600
        while 0 in (then + DEADLINE_SECONDS).to_bytes(32, "big")[-4:]:
            then += 1
        rpc(client, "evm_setNextBlockTimestamp", then)
        rpc(client, "evm_mine")

        def make() -> DefiAgentApp:
            service = build_service(
                url=anvil.url, book=devnet_image.book, data_dir=tmp_path / "data"
            )
            return create_app(lambda: (service, "local"), block_poll_seconds=60)

        yield make


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
