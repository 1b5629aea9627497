"""Guards on chain readings, parsed without eval: `health_factor < 1.6`,
`price(ETH) < 2500 and balance(USDC) > 100`, `apy(aave-v3, USDC) > 3%`.

Grammar (case-insensitive keywords, percentages are fractions: `3%` is 0.03):

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" expr ")" | comparison
    comparison := value OP value            OP: < <= > >= == !=
    value      := NUMBER ["%"] | READING
    READING    := health_factor | block | price(TOKEN) | balance(TOKEN) | supplied(TOKEN)
                | debt(TOKEN) | apy(PROTOCOL, TOKEN) | borrow_apy(PROTOCOL, TOKEN)

Readings come from a `Readings` object, so the same guard runs against the chain or a test table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol

from strategies.tokens import resolve_symbol, unknown_token

READINGS: dict[str, int] = {
    "health_factor": 0,
    "block": 0,
    "price": 1,
    "balance": 1,
    "supplied": 1,
    "debt": 1,
    "apy": 2,
    "borrow_apy": 2,
}
"""Each reading and how many arguments it takes."""

_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$", re.ASCII)
_MAX_DEPTH = 32
"""How deeply ``not`` and parentheses may nest: far beyond any guard a person writes."""
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d[\d_,]*(?:\.\d+)?|\.\d+)|(?P<op><=|>=|==|!=|<|>)|(?P<punct>[(),%])"
    r"|(?P<word>[A-Za-z][A-Za-z0-9_.-]*))",
    re.ASCII,
)


class ExprError(ValueError):
    """A guard that does not parse; ``column`` is 1-based within the expression."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} (column {column})")
        self.column = column


class Readings(Protocol):
    def read(self, name: str, args: tuple[str, ...]) -> Decimal: ...


@dataclass(frozen=True)
class Number:
    value: Decimal

    def eval(self, readings: Readings) -> Decimal:
        return self.value

    def __str__(self) -> str:
        return format(self.value.normalize(), "f")


@dataclass(frozen=True)
class Reading:
    name: str
    args: tuple[str, ...]

    def eval(self, readings: Readings) -> Decimal:
        return readings.read(self.name, self.args)

    def __str__(self) -> str:
        return f"{self.name}({', '.join(self.args)})" if self.args else self.name


@dataclass(frozen=True)
class Compare:
    op: str
    left: Number | Reading
    right: Number | Reading

    def holds(self, readings: Readings) -> bool:
        a, b = self.left.eval(readings), self.right.eval(readings)
        return {
            "<": a < b,
            "<=": a <= b,
            ">": a > b,
            ">=": a >= b,
            "==": a == b,
            "!=": a != b,
        }[self.op]

    def readings(self) -> tuple[Reading, ...]:
        return tuple(x for x in (self.left, self.right) if isinstance(x, Reading))


@dataclass(frozen=True)
class Not:
    inner: Guard

    def holds(self, readings: Readings) -> bool:
        return not self.inner.holds(readings)

    def readings(self) -> tuple[Reading, ...]:
        return self.inner.readings()


@dataclass(frozen=True)
class Both:
    op: str
    parts: tuple[Guard, ...]

    def holds(self, readings: Readings) -> bool:
        results = (p.holds(readings) for p in self.parts)
        return all(results) if self.op == "and" else any(results)

    def readings(self) -> tuple[Reading, ...]:
        return tuple(r for p in self.parts for r in p.readings())


Guard = Compare | Not | Both


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    column: int


def _lex(text: str) -> list[_Tok]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            column = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise ExprError(f"unexpected {text[column - 1]!r}", column)
        kind = next(k for k, v in match.groupdict().items() if v is not None)
        tokens.append(_Tok(kind, match.group(kind), match.start(kind) + 1))
        pos = match.end()
    tokens.append(_Tok("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            raise ExprError(f"expected {text!r}, found {tok.text or 'the end'!r}", tok.column)

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and tok.text.lower() == word

    def expr(self) -> Guard:
        parts = [self.conjunction()]
        while self.is_word("or"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Both("or", tuple(parts))

    def conjunction(self) -> Guard:
        parts = [self.negation()]
        while self.is_word("and"):
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else Both("and", tuple(parts))

    def negation(self) -> Guard:
        if not (self.is_word("not") or self.peek().text == "("):
            return self.comparison()
        tok = self.take()
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ExprError(f"nested more than {_MAX_DEPTH} deep", tok.column)
        if tok.text == "(":
            inner = self.expr()
            self.expect(")")
        else:
            inner = Not(self.negation())
        self.depth -= 1
        return inner

    def comparison(self) -> Compare:
        left = self.value()
        tok = self.take()
        if tok.kind != "op":
            found = tok.text or "the end"
            raise ExprError(
                f"expected a comparison (<, <=, >, >=, ==, !=), found {found!r}", tok.column
            )
        return Compare(tok.text, left, self.value())

    def value(self) -> Number | Reading:
        tok = self.take()
        if tok.kind == "num":
            if "," in tok.text and not _GROUPED.match(tok.text):
                raise ExprError(
                    f"{tok.text!r} is not a number: a decimal is written with a point (1.5), "
                    "and commas only group thousands (1,000)",
                    tok.column,
                )
            try:
                number = Decimal(tok.text.replace(",", "").replace("_", ""))
            except InvalidOperation:
                raise ExprError(f"{tok.text!r} is not a number", tok.column) from None
            if self.peek().text == "%":
                self.take()
                number /= 100
            return Number(number)
        if tok.kind != "word":
            raise ExprError(
                f"expected a number or a reading, found {tok.text or 'the end'!r}", tok.column
            )
        name = tok.text.lower()
        if name not in READINGS:
            known = ", ".join(READINGS)
            raise ExprError(f"unknown reading {tok.text!r} (known: {known})", tok.column)
        arity = READINGS[name]
        args: list[str] = []
        if arity:
            self.expect("(")
            for n in range(arity):
                if n:
                    self.expect(",")
                arg = self.take()
                if arg.kind != "word":
                    raise ExprError(f"{name} needs a name here", arg.column)
                if n == arity - 1 and resolve_symbol(arg.text) is None:
                    raise ExprError(unknown_token(arg.text), arg.column)
                args.append(arg.text)
                if n == 0:
                    first = arg
            self.expect(")")
            if arity == 2 and first.text.lower() != "aave-v3":
                raise ExprError(
                    f"{name} reads Aave V3's markets: write {name}(aave-v3, TOKEN), not "
                    f"{first.text!r}",
                    first.column,
                )
        return Reading(name, tuple(args))


def parse_guard(text: str) -> Guard:
    """The guard ``text`` as a tree; raises `ExprError` naming the column of the first problem."""
    parser = _Parser(text)
    guard = parser.expr()
    tok = parser.peek()
    if tok.kind != "end":
        raise ExprError(f"unexpected {tok.text!r} after a complete condition", tok.column)
    return guard
