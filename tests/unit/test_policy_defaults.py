"""The default slippage of a policy file, kept by its exact text so that `plan` does not import
tomllib: a kept text is answered from the file, any other text is read from its TOML."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agent import policy_defaults
from policies import DEFAULT_POLICY

POLICY = '[allow]\nactions = ["swap"]\n[slippage]\nmax_bps = 100\ndefault_bps = {bps}\n'


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "__pycache__" / "policy_defaults.json"
    monkeypatch.setattr(policy_defaults, "CACHE", path)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return path


def test_a_kept_text_is_answered_without_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    text = POLICY.format(bps=20)
    assert policy_defaults.default_slippage_bps(text) == 20

    def refused(text: str) -> int:
        raise AssertionError("parsed again")

    monkeypatch.setattr(policy_defaults, "parsed", refused)
    assert policy_defaults.default_slippage_bps(text) == 20


def test_an_edited_text_is_read_again(cache: Path) -> None:
    """The file edited since its value was kept: its new default counts, not the kept one."""
    assert policy_defaults.default_slippage_bps(POLICY.format(bps=20)) == 20
    assert policy_defaults.default_slippage_bps(POLICY.format(bps=35)) == 35
    assert policy_defaults.default_slippage_bps('[allow]\nactions = ["swap"]\n') == 50
    assert sorted(json.loads(cache.read_text()).values()) == [20, 35, 50]


def test_a_damaged_file_is_read_around(cache: Path) -> None:
    text = POLICY.format(bps=20)
    cache.parent.mkdir()
    for damaged in ("{not json", json.dumps([text, 99]), json.dumps({text: True})):
        cache.write_text(damaged)
        assert policy_defaults.default_slippage_bps(text) == 20


def test_nothing_is_written_when_python_may_not_write_bytecode(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert policy_defaults.default_slippage_bps(POLICY.format(bps=20)) == 20
    assert not cache.exists()


def test_the_newest_texts_are_kept(cache: Path) -> None:
    texts = [POLICY.format(bps=bps) for bps in range(1, policy_defaults.KEPT + 3)]
    for text in texts:
        policy_defaults.default_slippage_bps(text)
    assert list(json.loads(cache.read_text())) == texts[2:]
    assert policy_defaults.default_slippage_bps(texts[0]) == 1  # dropped: read again, kept again
    assert list(json.loads(cache.read_text())) == [*texts[3:], texts[0]]


def test_setup_keeps_the_default_policy(cache: Path) -> None:
    """What `make setup` runs: the shipped policy's default, as its TOML says."""
    policy_defaults.keep_default()
    assert json.loads(cache.read_text()) == {DEFAULT_POLICY.read_text(): 50}
