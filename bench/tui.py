"""Time from submitting an intent in the chat app to its plan card showing the policy decision,
against the same plan and simulation through the core service alone, in the same run (aim: a
ratio under 1.2). The app is the real one, driven headless by Textual's Pilot, on a devnet.

Beside it, the floor Textual sets: the smallest visible change in the same app, one line added to
the chat log and drawn, against the same core time (the aim leaves 20% of it for everything the app
does)."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from agent.events import PolicyDecision
from agent.tui.app import create_app
from agent.tui.chat import ChatLog
from agent.tui.prompt import Prompt
from agent.wiring import build_service
from tools.chain.anvil import Anvil, AnvilOptions
from tools.chain.running import DEVNET_WALLET
from tools.devnet.cache import build

ROUNDS = 7
TEXT = "swap 1 ETH to USDC then supply it to aave"


async def core(service) -> float:
    start = time.perf_counter()
    async for event in service.propose(TEXT):
        if isinstance(event, PolicyDecision):
            service.discard(event.plan_id)
    return time.perf_counter() - start


async def app_rounds(service) -> tuple[list[float], list[float]]:
    app = create_app(lambda: (service, "local"), block_poll_seconds=60)
    times, lines = [], []
    async with app.run_test(size=(100, 40)) as pilot:
        for _ in range(ROUNDS):
            prompt = app.query_one(Prompt)
            prompt.focus()
            prompt.value = TEXT
            start = time.perf_counter()
            await prompt.action_submit()
            while app.pending is None:  # set when the decision reaches the card; cheap to poll
                await asyncio.sleep(0.001)
            await pilot.pause(0)  # the decided card is laid out and rendered
            times.append(time.perf_counter() - start)
            await pilot.press("n")
        chat = app.query_one(ChatLog)
        for _ in range(ROUNDS):
            await pilot.pause()
            start = time.perf_counter()
            chat.add_user("one more line")
            await pilot.pause(0)
            lines.append(time.perf_counter() - start)
    return times, lines


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        image = build(root / "image", DEVNET_WALLET, root / "boot.log")
        with Anvil(AnvilOptions(load_state=image.state), root / "anvil.log") as anvil:
            service = build_service(url=anvil.url, book=image.book, data_dir=root / "data")
            asyncio.run(core(service))
            core_s = statistics.median(asyncio.run(core(service)) for _ in range(ROUNDS))
            times, lines = asyncio.run(app_rounds(service))
            app_s, line_s = statistics.median(times), statistics.median(lines)
    print(f"core service: plan + simulation + policy  {core_s * 1000:7.1f} ms   (baseline)")
    print(
        f"chat app: enter -> plan card decided      {app_s * 1000:7.1f} ms   {app_s / core_s:5.2f}x"
    )
    print(
        f"  floor: one chat line added and drawn    {line_s * 1000:7.1f} ms   {line_s / core_s:5.2f}x"
    )


if __name__ == "__main__":
    main()
