"""Strategy files: YAML validated by pydantic, with errors that name the file, line and field.

```yaml
name: dca-eth
description: Buy ETH with 100 USDC every 5 blocks, 5 times.
session: {policy: dca-bot, ttl: 30d}     # or {id: 0123abcd4567}; none: the active session
when: price(ETH) < 4000                  # start only once this holds (waits, checking every `every`)
steps:                                   # one iteration; each entry is one plan
  - intent: swap 100 USDC for ETH        # words, parsed like a chat request
  - action: supply                       # or one typed step of the plan schema
    protocol: aave-v3
    token: USDC
    amount: output:1                     # what entry 1 of this iteration produced
    when: balance(USDC) > 100            # skip this entry in an iteration where it does not hold
repeat: {every: 5 blocks, count: 5}      # or {every: 30s, until: health_factor >= 2}
on_error: stop                           # stop | skip | retry 3 (per entry too)
```

A step denied by policy always stops the run: a session's limits are not something to skip around.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.errors import ConfigError
from agent.textfile import read_text_file
from agent.validation import first_error, said
from policies.model import MAX_TTL_SECONDS, find_policy, ttl_seconds
from strategies.plan import Step
from strategies.script.expr import ExprError, parse_guard
from strategies.tokens import (
    DEFAULT_SYMBOLS,
    produced_token,
    same_asset,
    spent_token,
    unknown_token,
)
from tools.chain.address import is_checksum_address, to_checksum_address

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
_INTERVAL = re.compile(r"^\s*(\d+)\s*(blocks?|s|m|h|d|w)\s*$", re.I | re.ASCII)
_SESSION_ID = re.compile(r"^[0-9a-f]{12}$")
_RETRY = re.compile(r"^retry\s+(\d+)$", re.ASCII)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_INTERVAL_BLOCKS = 1_000_000
"""About 140 days of mainnet blocks: a longer wait is a typo, and would never come on a devnet."""


def _guard(text: str) -> str:
    try:
        parse_guard(text)
    except ExprError as error:
        raise ValueError(str(error)) from None
    return text


GuardText = Annotated[str, AfterValidator(_guard)]


def _on_error(text: str) -> str:
    text = " ".join(text.split()).lower()
    if text in ("stop", "skip"):
        return text
    match = _RETRY.match(text)
    if match is None or not 1 <= int(match.group(1)) <= 10:
        raise ValueError(f"{text!r}: use stop, skip, or retry N (N from 1 to 10)")
    return text


OnError = Annotated[str, AfterValidator(_on_error)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Interval(_Strict):
    """``5 blocks`` or ``30s`` / ``10m`` / ``1h`` / ``1d`` / ``2w``."""

    count: int
    unit: Literal["blocks", "seconds"]

    def __str__(self) -> str:
        return (
            f"{self.count} {'block' if self.count == 1 else 'blocks'}"
            if (self.unit == "blocks")
            else f"{self.count}s"
        )


def parse_interval(text: str) -> Interval:
    match = _INTERVAL.match(str(text))
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(
            f"{text!r} is not an interval like '5 blocks', '30s', '10m', '1h', '1d' or '2w'"
        )
    n, unit = int(match.group(1)), match.group(2).lower()
    if unit.startswith("block"):
        if n > MAX_INTERVAL_BLOCKS:
            raise ValueError(f"{text!r} is more than {MAX_INTERVAL_BLOCKS:,} blocks")
        return Interval(count=n, unit="blocks")
    if n * _SECONDS[unit] > MAX_TTL_SECONDS:
        raise ValueError(f"{text!r} is longer than a strategy's session may live (365d)")
    return Interval(count=n * _SECONDS[unit], unit="seconds")


class Repeat(_Strict):
    every: Interval
    count: int | None = Field(default=None, ge=1, le=10_000)
    until: GuardText | None = None

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, value: object) -> object:
        return parse_interval(str(value)) if isinstance(value, str | int) else value


class SessionRef(_Strict):
    """An existing session by id, or a new one under a policy file (a path, or the name of a
    shipped policy such as ``dca-bot``) for ``ttl``."""

    id: str | None = None
    policy: str | None = None
    ttl: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError('YAML read this id as a number: write it in quotes, id: "..."')
        if isinstance(value, str) and not _SESSION_ID.match(value):
            raise ValueError(
                f"{value!r} is not a session id: 12 hex digits, as `defi-agent session list` shows"
            )
        return value

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, value: str | None) -> str | None:
        if value is not None:
            ttl_seconds(value)
        return value

    @model_validator(mode="after")
    def _one_of(self) -> SessionRef:
        if (self.id is None) == (self.policy is None):
            raise ValueError("give either id (an existing session) or policy (and ttl)")
        if self.id is not None and self.ttl is not None:
            raise ValueError("ttl goes with policy: an existing session keeps its own expiry")
        return self


class IntentEntry(_Strict):
    intent: str = Field(min_length=1)
    when: GuardText | None = None
    on_error: OnError | None = None


class TypedEntry(_Strict):
    """One typed step of the plan schema, plus the entry's own ``when`` and ``on_error``. A swap
    may leave out ``max_slippage_bps``: it then gets the default slippage of the run's session's
    policy when it runs (`fields` leaves it out)."""

    step: Step
    when: GuardText | None = None
    on_error: OnError | None = None
    _policy_slippage: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _split(cls, data: object, handler: ModelWrapValidatorHandler[TypedEntry]) -> TypedEntry:
        if not isinstance(data, dict):
            return handler(data)
        if "step" in data:
            own, step = data, data["step"]
        else:
            own = {k: v for k, v in data.items() if k in ("when", "on_error")}
            step = {k: v for k, v in data.items() if k not in own}
        if isinstance(step, dict) and type(step.get("amount")) in (int, float):
            step = {**step, "amount": str(step["amount"])}  # `amount: 100`, unquoted
        unset = isinstance(step, dict) and step.get("action") == "swap"
        unset = unset and "max_slippage_bps" not in step
        if unset:
            step = {**step, "max_slippage_bps": 0}
        entry = handler({**own, "step": step})
        entry._policy_slippage = unset
        return entry

    @property
    def fields(self) -> dict[str, Any]:
        fields = self.step.model_dump(mode="json")
        if self._policy_slippage:
            del fields["max_slippage_bps"]
        return fields


def _kind(data: object) -> str | None:
    if isinstance(data, IntentEntry | TypedEntry):
        return "words" if isinstance(data, IntentEntry) else "typed"
    if isinstance(data, dict):
        return (
            "words" if "intent" in data else "typed" if "action" in data or "step" in data else None
        )
    return None


Entry = Annotated[
    Annotated[IntentEntry, Tag("words")] | Annotated[TypedEntry, Tag("typed")],
    Discriminator(
        _kind,
        custom_error_type="entry",
        custom_error_message="each step is either `intent: <words>` or a typed step with `action:`",
    ),
]


class StrategyFile(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    session: SessionRef | None = None
    when: GuardText | None = None
    steps: list[Entry] = Field(min_length=1, max_length=20)
    repeat: Repeat | None = None
    on_error: OnError = "stop"


def retries(on_error: str) -> int:
    match = _RETRY.match(on_error)
    return int(match.group(1)) if match else 0


_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


def _lines(
    node: yaml.Node,
    path: tuple[Any, ...],
    out: dict[tuple[Any, ...], int],
    amounts: dict[tuple[Any, ...], str],
) -> None:
    """The line of every key and item under ``node``; a key written twice in a mapping is an
    error (YAML loaders keep the last one silently). ``amounts``: every unquoted number written
    as an ``amount``, as written."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            where = (*path, key.value)
            if where in out:
                raise ValueError(f"{key.start_mark.line + 1}: {_where(where)}: written twice")
            out[where] = key.start_mark.line + 1
            if key.value == "amount" and value.tag in _NUMBER_TAGS:
                amounts[where] = value.value
            _lines(value, where, out, amounts)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out, amounts)


def _as_written(data: Any, amounts: dict[tuple[Any, ...], str]) -> None:
    """Put back the text of unquoted amounts: YAML reads `010` as 8, `1:30` as 90 and
    `0.1234567890123456789` as a float that lost digits."""
    for path, text in amounts.items():
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = text


def _line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _where(loc: tuple[Any, ...]) -> str:
    parts = []
    for p in _keys(loc):
        parts.append(f"[{p + 1}]" if isinstance(p, int) else ("." if parts else "") + str(p))
    return "".join(parts) or "file"


_MAX_DEPTH, _MAX_EVENTS = 64, 10_000
"""A strategy has at most 20 steps: a few hundred YAML values, nested a few levels. Beyond these
it is not one, and the YAML reader would take minutes and gigabytes to say so (QA)."""


def _screen(text: str, source: str) -> None:
    """Refuse, while the YAML is read and before anything is built from it: aliases (``*name``
    repeats what its anchor holds: a few lines of them expand to gigabytes, one inside its own
    anchor never ends), explicit tags (``!!binary`` decoded bytes into a name), and nesting or a
    number of values no strategy has."""
    depth = 0
    for n, event in enumerate(yaml.parse(text, Loader=yaml.SafeLoader)):
        where = f"{source}:{event.start_mark.line + 1}"
        if isinstance(event, yaml.AliasEvent):
            raise ConfigError(
                f"{where}: YAML aliases (*{event.anchor}) are not allowed in a strategy: write "
                "the value out"
            )
        if getattr(event, "tag", None) is not None:
            raise ConfigError(f"{where}: YAML tags ({event.tag}) are not allowed in a strategy")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > _MAX_DEPTH:
                raise ConfigError(f"{where}: nested too deeply to be a strategy")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if n > _MAX_EVENTS:
            raise ConfigError(f"{where}: more values than a strategy holds ({_MAX_EVENTS:,})")


def parse_strategy(text: str, source: str = "strategy") -> StrategyFile:
    """The strategy in ``text``; a `ConfigError` naming ``source``, the line and the field."""
    try:
        _screen(text, source)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a strategy is a mapping with name, steps and more")
    lines: dict[tuple[Any, ...], int] = {}
    amounts: dict[tuple[Any, ...], str] = {}
    try:
        if node is not None:
            _lines(node, (), lines, amounts)
    except ValueError as error:
        raise ConfigError(f"{source}:{error}") from None
    _as_written(data, amounts)
    try:
        strategy = StrategyFile.model_validate(data)
    except ValidationError as error:
        first = first_error(error.errors())
        loc = tuple(first["loc"])
        line = _line_of(lines, _keys(loc))
        where = f"{source}:{line}" if line else source
        raise ConfigError(f"{where}: {_where(loc)}: {said(first, StrategyFile)}") from None
    for n, entry in enumerate(strategy.steps, start=1):
        if isinstance(entry, TypedEntry):
            _check_typed(strategy, n, lines, source)
    if strategy.session is not None and strategy.session.policy is not None:
        try:
            find_policy(strategy.session.policy, Path(source).parent)
        except ConfigError as error:  # QA: the one error that named no line
            line = _line_of(lines, ("session", "policy"))
            raise ConfigError(
                f"{source}:{line}: session.policy: {error.message}", hint=error.hint
            ) from None
    return strategy


def _check_typed(
    strategy: StrategyFile, n: int, lines: dict[tuple[Any, ...], int], source: str
) -> None:
    """What can be known of typed entry ``n`` before anything runs: its tokens are known, its
    recipient is checksummed, and an ``output:N`` names an earlier entry that, when it is typed
    too, produces the token this one spends."""
    entry = strategy.steps[n - 1]
    assert isinstance(entry, TypedEntry)
    step = entry.fields

    def line(field: str) -> int | None:
        return _line_of(lines, ("steps", n - 1, field))

    for field in ("token", "token_in", "token_out"):
        symbol = step.get(field)
        if symbol is not None and symbol not in DEFAULT_SYMBOLS:
            raise ConfigError(
                f"{source}:{line(field)}: steps[{n}].{field}: {unknown_token(symbol)}"
            )
    to = step.get("to")
    if to is not None and not is_checksum_address(to):
        raise ConfigError(
            f"{source}:{line('to')}: steps[{n}].to: {to} is not checksummed",
            hint=f"write it as {to_checksum_address(to)} after checking it is the address meant",
        )
    amount = str(step.get("amount", ""))
    if not amount.startswith("output:"):
        return
    source_n = int(amount[7:])
    where = f"{source}:{line('amount')}: steps[{n}].amount: {amount}"
    if not 1 <= source_n < n:
        earlier = f"1 to {n - 1}" if n > 1 else "there is none before it"
        raise ConfigError(f"{where} must name an earlier step ({earlier})")
    earlier_entry = strategy.steps[source_n - 1]
    if not isinstance(earlier_entry, TypedEntry):
        return
    made, wanted = produced_token(earlier_entry.fields), spent_token(step)
    if made is None:
        raise ConfigError(f"{where}: step {source_n} leaves no token in the wallet to use")
    if not same_asset(made, wanted):
        raise ConfigError(
            f"{where}: step {source_n} produces {made}, not the {wanted} this step spends"
        )


def _keys(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The parts of a pydantic location that are keys or indexes of the YAML document: union tags
    go, and a typed entry's ``step`` (with its action tag) is written flat in the file."""
    keys: list[Any] = []
    skip = 0
    for p in loc:
        if skip:
            skip -= 1
        elif p == "typed":
            skip = 2 if len(keys) >= 2 else 0
        elif p != "words" and not (isinstance(p, str) and ("[" in p or p[:1].isupper())):
            keys.append(p)
    return tuple(keys)


def load_strategy(path: Path) -> StrategyFile:
    return parse_strategy(read_text_file(path, "strategy"), str(path))


def find_strategy(name: Path) -> Path:
    """A strategy file by path, or by the name of a shipped example (``dca-eth``, as `strategies
    list` names them; QA: `run dca-eth` said "No such file or directory")."""
    if name.exists():
        return name
    example = EXAMPLES / f"{name}.yaml"
    if name.parent == Path() and example.is_file():
        return example
    raise ConfigError(
        f"cannot read strategy file {name}: No such file or directory",
        hint="give a path, or a shipped strategy's name: " + ", ".join(p.stem for p in shipped()),
    )


def shipped() -> list[Path]:
    """The example strategies shipped with the package."""
    return sorted(EXAMPLES.glob("*.yaml"))
