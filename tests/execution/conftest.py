"""The core service, wired exactly as the CLI wires it, on the session's devnet."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.events import Event, PolicyDecision, RunDone, RunFailed
from agent.service import AgentService
from agent.wiring import build_service


@pytest.fixture
def service(devnet, tmp_path: Path) -> AgentService:
    return build_service(url=devnet.url, book=devnet.book, data_dir=tmp_path / "data")


@pytest.fixture
def roomy(devnet, tmp_path: Path) -> AgentService:
    """The service under a generous session, for tests about protocols rather than limits."""
    policy = Path(__file__).with_name("roomy.toml")
    return build_service(
        url=devnet.url, book=devnet.book, data_dir=tmp_path / "roomy", policy_file=policy
    )


def collect(stream) -> list[Event]:
    async def gather() -> list[Event]:
        return [event async for event in stream]

    return asyncio.run(gather())


def propose(service: AgentService, text: str) -> list[Event]:
    return collect(service.propose(text))


def run(service: AgentService, text: str) -> list[Event]:
    """Propose and, when the policy allows, execute: every event in order."""
    events = propose(service, text)
    decision = next((e for e in events if isinstance(e, PolicyDecision)), None)
    if decision is None or not decision.allowed or isinstance(events[-1], RunFailed):
        return events
    return events + collect(service.execute(decision.plan_id, human_confirmed=True))


def outcome(events: list[Event]) -> RunDone | RunFailed:
    last = events[-1]
    assert isinstance(last, RunDone | RunFailed), last
    return last
