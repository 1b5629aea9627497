"""Snapshots of the screens people see: the main screen, a plan card, a denial, the help screen.
Plan and session ids are random in use; here they come from a counter so the pictures are stable."""

from __future__ import annotations

import itertools
import uuid

import pytest

from agent.tui.sidebar import Sidebar
from tests.tui.conftest import say, until


@pytest.fixture(autouse=True)
def counted_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = itertools.count(1)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter)))


def loaded(app) -> bool:
    return app.query_one(Sidebar).snapshot is not None


def test_main_screen(snap_compare, fresh_app) -> None:
    async def ready(pilot) -> None:
        await until(pilot, lambda: loaded(pilot.app))

    assert snap_compare(fresh_app(), terminal_size=(100, 30), run_before=ready)


def test_plan_card(snap_compare, fresh_app) -> None:
    async def plan(pilot) -> None:
        await until(pilot, lambda: loaded(pilot.app))
        await say(pilot, "swap 1 ETH to USDC then supply it to aave")
        await until(pilot, lambda: pilot.app.pending is not None)

    assert snap_compare(fresh_app(), terminal_size=(100, 36), run_before=plan)


def test_denial(snap_compare, fresh_app) -> None:
    async def denied(pilot) -> None:
        await until(pilot, lambda: loaded(pilot.app))
        await say(pilot, "swap 2 ETH for USDC")
        await until(pilot, lambda: any("Failed" in c.outcome for c in pilot.app.cards.values()))
        await until(pilot, lambda: pilot.app.screen.query("Toast"))
        await pilot.pause()

    assert snap_compare(fresh_app(), terminal_size=(100, 30), run_before=denied)


def test_help_screen(snap_compare, fresh_app) -> None:
    async def help_open(pilot) -> None:
        await until(pilot, lambda: loaded(pilot.app))
        await pilot.press("f1")

    assert snap_compare(fresh_app(), terminal_size=(80, 24), run_before=help_open)
