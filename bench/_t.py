import asyncio, statistics, tempfile, time
from pathlib import Path
from bench.tui import TEXT, core
from agent.tui.app import create_app, DefiAgentApp
from agent.tui.prompt import Prompt
from agent.wiring import build_service
from tools.chain.anvil import Anvil, AnvilOptions
from tools.chain.running import DEVNET_WALLET
from tools.devnet.cache import build
import agent.service as S

marks = []
def mark(name): marks.append((name, time.perf_counter()))

async def rounds(service):
    app = create_app(lambda: (service, "local"), block_poll_seconds=60)
    orig = app._display
    def display(screen, renderable):
        mark("frame"); return orig(screen, renderable)
    app._display = display
    orig_prop = service.propose
    async def propose(text, plan=None):
        mark("propose start")
        async for e in orig_prop(text, plan):
            mark(type(e).__name__)
            yield e
    service.propose = propose
    orig_ev = app.on_agent_event
    def on_ev(m):
        mark("handle " + type(m.event).__name__); orig_ev(m)
    app.on_agent_event = on_ev
    async with app.run_test(size=(100, 40)) as pilot:
        for r in range(4):
            await pilot.pause()
            prompt = app.query_one(Prompt); prompt.focus(); prompt.value = TEXT
            await pilot.pause()
            marks.clear()
            start = time.perf_counter(); mark("submit")
            await prompt.action_submit()
            while app.pending is None:
                await asyncio.sleep(0.0005)
            mark("pending")
            await asyncio.sleep(0.05)
            if r == 3:
                for n, t in marks: print(f"{(t-start)*1e3:7.1f} {n}")
            await pilot.press("n")

with tempfile.TemporaryDirectory() as tmp:
    root = Path(tmp)
    image = build(root / "image", DEVNET_WALLET, root / "boot.log")
    with Anvil(AnvilOptions(load_state=image.state), root / "anvil.log") as anvil:
        service = build_service(url=anvil.url, book=image.book, data_dir=root / "data")
        asyncio.run(core(service))
        asyncio.run(rounds(service))
