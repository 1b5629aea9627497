"""The rule parser's regular expressions, compiled once per Python and kept across processes.

The parser's sixty-odd patterns take about 8 ms to compile, a fifth of `defi-agent plan`'s whole
start-up, and every process compiled them again. `compiled` turns a pattern into the program
CPython's regex engine runs (what `re.compile` does, in pure Python) only the first time; the
program is kept in ``__pycache__`` beside this module, as Python keeps bytecode there, and each
later process builds the pattern from it directly, in microseconds. The result is the same
pattern object `re.compile` returns (patterns compare equal when their programs are; a test
checks every one).

The programs are CPython's private format, so the file is tagged with the exact interpreter and
engine version, and is ignored for any other. The engine validates a program before it accepts
one, and anything unexpected (a missing or corrupt file, another Python) falls back to
`re.compile`. The file is written at exit when patterns were compiled, unless Python may not
write bytecode (``PYTHONDONTWRITEBYTECODE``): `make setup` then writes it
(``python -m agent.intents.patterns``), as it compiles the bytecode.
"""

from __future__ import annotations

import _sre
import atexit
import contextlib
import marshal
import os
import re
import sys
from pathlib import Path

CACHE = Path(__file__).with_name("__pycache__") / f"patterns.{sys.implementation.cache_tag}.bin"
_TAG = (sys.version, _sre.MAGIC, _sre.CODESIZE)
"""What the programs are valid for: another interpreter, or engine, ignores the file."""
_Program = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]
"""What `_sre.compile` takes after the pattern: flags, code, groups, and the group names both
ways."""

_programs: dict[tuple[str, int], _Program] | None = None
_new = False


def compiled(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, from the kept program when there is one."""
    global _new
    programs = _loaded()
    key = (pattern, int(flags))
    program = programs.get(key)
    if program is not None:
        with contextlib.suppress(Exception):  # a program this engine refuses: compiled below
            return _sre.compile(pattern, *program)
    try:
        program = _program(*key)
        made = _sre.compile(pattern, *program)
    except Exception:  # not what this module knows of the engine: nothing is kept
        return re.compile(pattern, flags)
    if not _new:
        _new = True
        atexit.register(save)
    programs[key] = program
    return made


def _program(pattern: str, flags: int) -> _Program:
    """What `re._compiler.compile` hands `_sre.compile`, made as it makes it."""
    from re import _compiler, _parser  # type: ignore[attr-defined]

    parsed = _parser.parse(pattern, flags)
    code = _compiler._code(parsed, flags)
    state = parsed.state
    names: list[str | None] = [None] * state.groups
    for name, index in state.groupdict.items():
        names[index] = name
    program = [int(word) for word in code]  # its opcodes are int subclasses, which marshal refuses
    return int(flags | state.flags), program, state.groups - 1, dict(state.groupdict), tuple(names)


def _loaded() -> dict[tuple[str, int], _Program]:
    global _programs
    if _programs is None:
        _programs = _read()
    return _programs


def _read() -> dict[tuple[str, int], _Program]:
    try:
        tag, programs = marshal.loads(CACHE.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return programs if tag == _TAG and isinstance(programs, dict) else {}


def save() -> None:
    """Keep the programs compiled in this process, with those another process kept meanwhile;
    nothing when Python may not write bytecode."""
    if not sys.dont_write_bytecode and _new:
        write({**_read(), **_loaded()})


def write(programs: dict[tuple[str, int], _Program]) -> None:
    """Replace the file with ``programs`` at once (nothing when this module's directory is not
    writable): a process reading it meanwhile reads the old file or the new one, whole."""
    temporary = CACHE.with_name(f"{CACHE.name}.{os.getpid()}")
    try:
        CACHE.parent.mkdir(exist_ok=True)
        temporary.write_bytes(marshal.dumps((_TAG, programs)))
        os.replace(temporary, CACHE)
    except OSError:
        temporary.unlink(missing_ok=True)


if __name__ == "__main__":  # `make setup`: every pattern of the parser's modules, kept
    from agent.intents import patterns  # this module as the parser imports it, not as __main__

    patterns._programs = {}  # all compiled afresh: programs of patterns edited since are dropped
    import agent.intents.planner  # noqa: F401  (imports every other module of the parser)

    patterns.write(patterns._programs)
