"""What a request typed in the chat's prompt answers, when it only answers the open plan."""

from __future__ import annotations

import pytest

from agent.tui.app import plan_answer


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("Yes please!", "execute"),
        ("go  ahead.", "execute"),
        ("dry-run", "dry_run"),
        ("simulate it again", "dry_run"),  # QA: "I don't understand"
        ("No thanks", "discard"),
        ("edit", "edit"),
        ("yes but make it 0.05", None),  # a follow-up, planned
        ("simulate swapping 1 eth", None),
    ],
)
def test_answers_typed_in_the_prompt(text: str, action: str | None) -> None:
    assert plan_answer(text) == action
