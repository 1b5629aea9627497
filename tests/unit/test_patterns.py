"""The rule parser's regular expressions, kept compiled across processes (agent.intents.patterns):
each is the pattern `re.compile` makes, whether it was compiled here or built from the file."""

from __future__ import annotations

import json
import marshal
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent.intents import patterns

ROOT = Path(__file__).resolve().parents[2]
PARSE = (
    "import json, sys; from agent.intents.rules import ParseContext, RuleParser; "
    "from strategies.tokens import DEFAULT_SYMBOLS; "
    "parser = RuleParser(ParseContext(DEFAULT_SYMBOLS, 50, None)); "
    "print(json.dumps(parser.parse(sys.argv[1])))"
)


@pytest.fixture
def compiling(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The module as a new process finds it; the patterns it compiles the long way, listed."""
    monkeypatch.setattr(patterns, "_programs", None)
    monkeypatch.setattr(patterns, "_new", False)
    made: list[str] = []
    program = patterns._program

    def counted(pattern: str, flags: int) -> patterns._Program:
        made.append(pattern)
        return program(pattern, flags)

    monkeypatch.setattr(patterns, "_program", counted)
    return made


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiling: list[str]) -> list[str]:
    """As `compiling`, on a file of its own (none yet)."""
    monkeypatch.setattr(patterns, "CACHE", tmp_path / "__pycache__" / "patterns.bin")
    return compiling


def test_every_parser_pattern_built_from_the_file_is_what_re_compile_makes(compiling) -> None:
    """`make setup` keeps every pattern of the parser's modules (sixty-odd); each, built from the
    file, equals re.compile's (same source, flags and engine program) and was not compiled."""
    subprocess.run([sys.executable, "-m", "agent.intents.patterns"], cwd=ROOT, check=True)
    kept = list(patterns._loaded())
    assert len(kept) >= 50
    for pattern, flags in kept:
        built = patterns.compiled(pattern, flags)
        assert built == re.compile(pattern, flags), pattern
        assert built.groupindex == re.compile(pattern, flags).groupindex
    assert compiling == []


def test_a_process_on_the_file_plans_as_one_that_compiles_everything() -> None:
    request = "swap 0.1 WBTC to USDC with 0.3% slippage then supply it to aave"
    subprocess.run([sys.executable, "-m", "agent.intents.patterns"], cwd=ROOT, check=True)
    kept = subprocess.run(
        [sys.executable, "-c", PARSE, request], cwd=ROOT, capture_output=True, text=True
    )
    assert kept.returncode == 0, kept.stderr
    without = "import agent.intents.patterns as p; p.CACHE = p.CACHE.with_name('none'); "
    compiled = subprocess.run(
        [sys.executable, "-c", without + PARSE, request], cwd=ROOT, capture_output=True, text=True
    )
    assert compiled.returncode == 0, compiled.stderr
    assert kept.stdout == compiled.stdout
    steps = json.loads(kept.stdout)["steps"]
    assert [s["action"] for s in steps] == ["swap", "supply"] and steps[0]["max_slippage_bps"] == 30


@pytest.mark.parametrize(
    "contents",
    [b"not marshal", marshal.dumps(("another python", {})), marshal.dumps([1, 2, 3])],
    ids=["corrupt", "another interpreter", "not a table"],
)
def test_a_file_it_cannot_use_is_compiled_around(elsewhere, contents) -> None:
    patterns.CACHE.parent.mkdir()
    patterns.CACHE.write_bytes(contents)
    pattern = patterns.compiled(r"(?P<n>\d+)\s*bps", re.IGNORECASE)
    assert pattern == re.compile(r"(?P<n>\d+)\s*bps", re.IGNORECASE)
    assert pattern.fullmatch("30 BPS")["n"] == "30"  # type: ignore[index]
    assert elsewhere == [r"(?P<n>\d+)\s*bps"]


def test_a_program_the_engine_refuses_is_compiled_again(elsewhere) -> None:
    """A damaged program for the pattern (an edited or corrupted file) is refused by the engine
    and never run: the pattern is compiled again, and matches as written."""
    key = (r"(\d+) usdc", 0)
    good = patterns._program(*key)
    elsewhere.clear()
    damaged = (good[0], [255] * len(good[1]), *good[2:])
    patterns.CACHE.parent.mkdir()
    patterns.CACHE.write_bytes(marshal.dumps((patterns._TAG, {key: damaged})))
    pattern = patterns.compiled(*key)
    assert pattern == re.compile(*key) and pattern.fullmatch("12 usdc") is not None
    assert elsewhere == [key[0]]


def test_kept_at_exit_only_where_bytecode_may_be_written(elsewhere, monkeypatch) -> None:
    """At exit, what was compiled is added to what the file holds, unless Python may not write
    bytecode (PYTHONDONTWRITEBYTECODE)."""
    patterns.write({(r"supply (\w+)", 0): patterns._program(r"supply (\w+)", 0)})
    patterns.compiled(r"swap (\w+)")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    patterns.save()
    assert list(patterns._read()) == [(r"supply (\w+)", 0)]
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    patterns.save()
    assert sorted(patterns._read()) == [(r"supply (\w+)", 0), (r"swap (\w+)", 0)]
