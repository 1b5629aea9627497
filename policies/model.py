"""Policy files: TOML validated by pydantic, with errors that name the file, line and field.

Deny by default: an action, protocol, token or recipient not listed is not allowed, and a file
that leaves a section out gets that section's conservative defaults.
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.errors import ConfigError
from agent.textfile import read_text_file
from agent.validation import first_error, said
from policies import DEFAULT_POLICY, DEFAULT_SLIPPAGE_BPS
from strategies.tokens import DEFAULT_SYMBOLS, unknown_token

Action = Literal["swap", "supply", "withdraw", "borrow", "repay", "wrap", "unwrap", "transfer"]
_DURATION = re.compile(r"^([0-9]+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _known(symbol: str) -> str:
    """``symbol`` upper-cased, if it is a token of the address books."""
    if symbol.upper() not in DEFAULT_SYMBOLS:
        raise ValueError(unknown_token(symbol))
    return symbol.upper()


def _number(value: object) -> object:
    """A number as TOML writes one: "5000" in quotes, or true, is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{value!r} is not a number: write it without quotes")
    return value


Number = Annotated[Decimal, BeforeValidator(_number)]
"""A decimal field of a policy file: a TOML integer or float, nothing coerced."""

MAX_TTL_SECONDS = 365 * 86400
"""The longest a session may live: a key that signs for years is not a session."""


def ttl_seconds(text: str) -> int:
    """The seconds a session lifetime ``text`` names; ValueError beyond `MAX_TTL_SECONDS`."""
    lives = seconds(text)
    if lives > MAX_TTL_SECONDS:
        raise ValueError(f"{text} is longer than a session may live (365d)")
    return lives


def seconds(text: str) -> int:
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 90s, 12h, 24h, 7d")
    if int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is no time at all: a duration must be longer than zero")
    return int(match.group(1)) * _UNITS[match.group(2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Allow(_Strict):
    actions: tuple[Action, ...] = ()
    protocols: tuple[Literal["uniswap-v3", "aave-v3"], ...] = ()
    tokens: tuple[str, ...] = ()
    selectors: tuple[str, ...] = ()
    """When not empty, only these 4-byte selectors (0x12345678) may be called, on top of the rest;
    the calls a multicall wraps are calls too."""
    recipients: tuple[str, ...] = ()
    """Transfer recipients besides the wallet itself (checksummed addresses)."""

    @field_validator("tokens")
    @classmethod
    def _upper(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_known(v) for v in value)

    @field_validator("selectors")
    @classmethod
    def _selectors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for selector in value:
            if not re.fullmatch(r"0x[0-9a-fA-F]{8}", selector):
                raise ValueError(f"{selector!r} is not a 4-byte selector like 0x095ea7b3")
        return tuple(v.lower() for v in value)

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from tools.chain.address import is_address, is_checksum_address, to_checksum_address

        for address in value:
            if not is_address(address):
                raise ValueError(f"{address!r} is not an address (0x and 40 hex digits)")
            if not is_checksum_address(address):  # QA: the form to write was not given
                raise ValueError(
                    f"{address!r} is not checksummed: write it as "
                    f"{to_checksum_address(address)} after checking it is the address meant"
                )
        return value


class Window(_Strict):
    """A rolling allowance that refills: at most ``usd`` (or ``amount`` of ``token``) per ``period``."""

    period: str
    usd: Number | None = Field(default=None, gt=0)
    token: str | None = None
    amount: Number | None = Field(default=None, gt=0)

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        if seconds(value) > MAX_TTL_SECONDS:
            raise ValueError(
                f"{value} is longer than a session may live (365d): lifetime_usd caps a whole session"
            )
        return value

    @field_validator("token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        return None if value is None else _known(value)

    @model_validator(mode="after")
    def _one_kind(self) -> Window:
        if self.usd is not None and (self.token, self.amount) != (None, None):
            raise ValueError("a window has either usd, or token and amount, not both")
        if self.usd is None and (self.token is None or self.amount is None):
            raise ValueError("a window has either usd, or token and amount")
        return self

    @cached_property
    def seconds(self) -> int:
        return seconds(self.period)

    @cached_property
    def usd_cents(self) -> int | None:
        """``usd`` in whole cents: a spend in integer cents is above ``usd`` exactly when it is
        above this."""
        return None if self.usd is None else int(self.usd * 100)

    @cached_property
    def label(self) -> str:
        what = f"{self.usd:,} USD" if self.usd is not None else f"{self.amount:,} {self.token}"
        return f"{what} per {self.period}"


class Limits(_Strict):
    max_usd_per_tx: Number = Field(default=Decimal(0), ge=0)
    max_per_tx: dict[str, Annotated[Number, Field(gt=0)]] = Field(default_factory=dict)
    windows: tuple[Window, ...] = ()
    lifetime_usd: Number | None = Field(default=None, gt=0)
    max_fee_eth: Number | None = Field(default=None, gt=0)
    max_txs: StrictInt | None = Field(default=None, gt=0)
    confirm_above_usd: Number | None = Field(default=None, ge=0)

    @field_validator("max_per_tx")
    @classmethod
    def _caps(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        caps: dict[str, Decimal] = {}
        for written, cap in value.items():
            symbol = _known(written)
            if symbol in caps:
                raise ValueError(f"{symbol} is capped twice (keys differing in case are one token)")
            caps[symbol] = cap
        return caps

    @cached_property
    def max_usd_cents_per_tx(self) -> int:
        """The per-transaction cap in whole cents (as `Window.usd_cents`)."""
        return int(self.max_usd_per_tx * 100)

    @cached_property
    def lifetime_usd_cents(self) -> int | None:
        return None if self.lifetime_usd is None else int(self.lifetime_usd * 100)

    @cached_property
    def window_seconds(self) -> tuple[int, ...]:
        """The distinct lengths of the spend windows, in seconds: what the ledger counts."""
        return tuple(dict.fromkeys(w.seconds for w in self.windows))


class Slippage(_Strict):
    """In bps, from 1: every trade moves the price, so no swap fits a bound of 0."""

    max_bps: StrictInt = Field(default=50, ge=1, le=5000)
    default_bps: StrictInt = Field(default=DEFAULT_SLIPPAGE_BPS, ge=1, le=5000)

    @model_validator(mode="after")
    def _default_within_max(self) -> Slippage:
        if self.default_bps > self.max_bps:
            raise ValueError("default_bps cannot be above max_bps")
        return self


class Health(_Strict):
    min_after_borrow_or_withdraw: Number = Field(default=Decimal("1.5"), ge=1)


class Policy(_Strict):
    name: str = Field(min_length=1)  # QA: "" made a session listed as "(policy )"
    description: str = ""
    ttl: str = "24h"
    allow: Allow = Allow()
    limits: Limits = Limits()
    slippage: Slippage = Slippage()
    health: Health = Health()

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, value: str) -> str:
        ttl_seconds(value)
        return value


def _line_of(text: str, loc: tuple[object, ...]) -> int | None:
    """The line where the field at ``loc`` is written, found by its key in the TOML text."""
    lines = text.splitlines()
    start, pattern = 0, None
    for depth, key in enumerate(loc):
        if isinstance(key, int):  # the key-th table of an array of tables ([[...]]) named before
            if pattern is not None:
                for _ in range(key):
                    later = (n for n in range(start + 1, len(lines)) if pattern.match(lines[n]))
                    start = next(later, start)
            continue
        word = re.escape(str(key))
        pattern = re.compile(
            rf"^\s*(?:\[+\s*[\w.]*\b{word}\b[\w.]*\s*\]+|(?:\w+\s*\.\s*)*{word}\s*[.=])"
        )
        for number in range(start, len(lines)):
            if pattern.match(lines[number]):
                start = number
                break
        else:
            return start + 1 if depth else None
    return start + 1


_AT_LINE = re.compile(r"\s*\(at line (\d+), column \d+\)$")
_KEY = re.compile(r"^\s*([\w.\"' -]+?)\s*=")
_TABLE = re.compile(r"^\s*\[+\s*([\w.\"' -]+?)\s*\]+")


def _toml_error(text: str, source: str, error: tomllib.TOMLDecodeError) -> ConfigError:
    """``error`` with the file, the line and, when the line writes one, the field."""
    message = str(error)
    match = _AT_LINE.search(message)
    if match is None:
        return ConfigError(f"{source}: not valid TOML: {message}")
    number = int(match.group(1))
    lines = text.splitlines()
    key = _KEY.match(lines[number - 1]) if number <= len(lines) else None
    field = ""
    if key is not None:
        tables = (_TABLE.match(line) for line in reversed(lines[: number - 1]))
        table = next((t.group(1) for t in tables if t is not None), None)
        field = ".".join(p for p in (table, key.group(1)) if p) + ": "
    problem = message[: match.start()]
    if problem == "Cannot overwrite a value":
        problem = "written twice (or over a table of that name)"
    return ConfigError(f"{source}:{number}: {field}not valid TOML: {problem}")


def parse_policy(text: str, source: str = "policy", *, stored: bool = False) -> Policy:
    """The policy ``text`` says; ``stored``: of a session already created, whose policy was
    checked then (a policy without `max_usd_per_tx` is refused only for new sessions)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _toml_error(text, source, error) from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid TOML: nested too deeply") from None
    try:
        policy = Policy.model_validate(data)
    except ValidationError as error:
        first = first_error(error.errors())
        field = ".".join(str(p) for p in first["loc"]) or "policy"
        line = _line_of(text, first["loc"])
        where = f"{source}:{line}" if line else source
        raise ConfigError(f"{where}: {field}: {said(first, Policy)}") from None
    if not stored and "max_usd_per_tx" not in data.get("limits", {}):
        line = _line_of(text, ("limits",))
        raise ConfigError(  # QA: without it, nothing that moves value was allowed, unsaid
            f"{source}:{line}: limits.max_usd_per_tx: is required"
            if line
            else f"{source}: limits.max_usd_per_tx: is required",
            hint="the most one transaction may move, in USD, e.g. max_usd_per_tx = 1000 under "
            "[limits]; 0 allows nothing that moves value",
        )
    return policy


def find_policy(name: str, near: Path | None = None) -> Path:
    """A policy by path (relative to the directory ``near``, else the working directory), or by
    the name of a shipped one: ``default``, ``dca-bot``, ``yield-only``, ``cautious-borrower``."""
    for candidate in (
        *((near / name,) if near is not None else ()),
        Path(name),
        DEFAULT_POLICY.parent / f"{name}.toml",
        DEFAULT_POLICY.parent / "examples" / f"{name}.toml",
    ):
        if candidate.is_file():
            return candidate
    shipped = sorted(p.stem for p in DEFAULT_POLICY.parent.glob("examples/*.toml"))
    raise ConfigError(  # QA: "under policies/", where only default.toml is
        f"no policy file {name!r}",
        hint=f"give a path, or a shipped policy's name: default, {', '.join(shipped)}",
    )


def load_policy(path: Path) -> Policy:
    return parse_policy(read_text_file(path, "policy"), str(path))
