"""Fast decoding of canonically encoded ABI values: what the policy engine reads every call with.

eth_abi's general decoder takes ~20-80 µs a call; calldata our adapters (or any standard encoder)
build is canonical, and reads in a few µs by walking its 32-byte words. `reader` returns, for a
list of ABI types, a function that decodes exactly what `eth_abi.decode` decodes, to the same
values (addresses as lower-case hex, arrays as tuples), or raises `NotCanonical` for anything it
does not recognise as canonical: padding that is not zero, a value out of its type's range, an
offset that is not where a canonical encoder puts it, trailing bytes. The caller then decodes with
eth_abi, which decides. A Hypothesis test checks both agree on every function the policy decodes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eth_abi.grammar import ABIType, BasicType, TupleType, parse

WORD = 32
_ZERO, _ZERO_12, _ZERO_31 = bytes(WORD), bytes(12), bytes(31)


class NotCanonical(Exception):
    """The bytes are not a canonical encoding this reader knows: decode them with eth_abi."""


class _Node(Protocol):
    """One ABI type: ``size`` is its head size in bytes (32 for a dynamic type's offset)."""

    dynamic: bool
    size: int


_Step = tuple[bool, Callable[..., Any], int]
"""How a tuple reads one item: (dynamic, reader, head size). A static item's reader takes exactly
its bytes; a dynamic item's takes the data and where its tail starts, and returns the value and
where the tail ends."""


def _length(data: bytes, at: int) -> int:
    """The length word at ``at``: no more than there are bytes."""
    if at + WORD > len(data):
        raise NotCanonical
    n = int.from_bytes(data[at : at + WORD])
    if n > len(data):
        raise NotCanonical
    return n


class _Word(ABC):
    """A type encoded in one 32-byte word."""

    dynamic, size = False, WORD

    @abstractmethod
    def word(self, word: bytes) -> Any:
        """The value of ``word``; `NotCanonical` when it is not a canonical encoding of it."""


class _Uint(_Word):
    def __init__(self, bits: int) -> None:
        self.bits = bits

    def word(self, word: bytes) -> Any:
        value = int.from_bytes(word, "big")
        if value >> self.bits:
            raise NotCanonical
        return value


class _Uint256(_Word):
    """Any word is a uint256: nothing to check, read by `int.from_bytes` itself (big-endian)."""

    word = staticmethod(int.from_bytes)  # type: ignore[assignment]


class _Int(_Uint):
    def word(self, word: bytes) -> Any:
        value = int.from_bytes(word, "big", signed=True)
        if not -(1 << (self.bits - 1)) <= value < 1 << (self.bits - 1):
            raise NotCanonical
        return value


class _Address(_Word):
    def word(self, word: bytes) -> Any:
        if word[:12] != _ZERO_12:
            raise NotCanonical
        return "0x" + word[12:].hex()


class _Bool(_Word):
    def word(self, word: bytes) -> Any:
        if word[:31] != _ZERO_31 or word[31] > 1:
            raise NotCanonical
        return word[31] == 1


class _FixedBytes(_Word):
    def __init__(self, n: int) -> None:
        self.n = n

    def word(self, word: bytes) -> Any:
        if word[self.n :] != _ZERO[self.n :]:
            raise NotCanonical
        return word[: self.n]


class _Bytes:
    dynamic, size = True, WORD

    def __init__(self, text: bool) -> None:
        self.text = text

    def read(self, data: bytes, at: int) -> tuple[Any, int]:
        n = _length(data, at)
        start, padded = at + WORD, -(-n // WORD) * WORD
        end = start + padded
        if end > len(data) or data[start + n : end] != _ZERO[: padded - n]:
            raise NotCanonical
        value = data[start : start + n]
        if not self.text:
            return value, end
        try:
            return value.decode("utf-8"), end
        except UnicodeDecodeError:
            raise NotCanonical from None


def _tuple(
    steps: Sequence[_Step], heads: int, data: bytes, base: int
) -> tuple[tuple[Any, ...], int]:
    """``heads`` bytes of heads from ``base``; the tails of dynamic items follow the heads, one
    after another."""
    head, tail = base, base + heads
    if tail > len(data):
        raise NotCanonical
    values = []
    for dynamic, read, size in steps:
        if dynamic:
            if base + int.from_bytes(data[head : head + WORD]) != tail:
                raise NotCanonical
            value, tail = read(data, tail)
        else:
            value = read(data[head : head + size])
        head += size
        values.append(value)
    return tuple(values), tail


def _step(item: _Node) -> _Step:
    if isinstance(item, _Word):
        return False, item.word, WORD
    if isinstance(item, _Tuple) and not item.dynamic:
        return False, item.chunk, item.heads
    return True, item.read, WORD  # type: ignore[attr-defined]


class _Tuple:
    def __init__(self, items: Sequence[_Node]) -> None:
        self.heads = sum(i.size for i in items)
        self.dynamic = any(i.dynamic for i in items)
        self.size = WORD if self.dynamic else self.heads
        self.steps = tuple(_step(i) for i in items)
        self.parts: tuple[tuple[Callable[[bytes], Any], int, int], ...] = ()
        """For a static tuple (every item one word, or a static tuple): each item's reader and
        where its bytes lie, read without walking heads and tails."""
        if not self.dynamic:
            parts, at = [], 0
            for _, read, size in self.steps:
                parts.append((read, at, at + size))
                at += size
            self.parts = tuple(parts)

    def chunk(self, data: bytes) -> tuple[Any, ...]:
        """The values of a static tuple from exactly its encoding."""
        return tuple([read(data[start:end]) for read, start, end in self.parts])

    def read(self, data: bytes, at: int) -> tuple[Any, int]:
        return _tuple(self.steps, self.heads, data, at)

    def whole(self, data: bytes) -> tuple[Any, ...]:
        """The values of ``data``, which must be exactly this tuple's encoding."""
        if not self.dynamic:
            if len(data) != self.heads:
                raise NotCanonical
            return self.chunk(data)
        values, end = _tuple(self.steps, self.heads, data, 0)
        if end != len(data):
            raise NotCanonical
        return values


class _Array:
    dynamic, size = True, WORD

    def __init__(self, item: _Node) -> None:
        self.step = _step(item)

    def read(self, data: bytes, at: int) -> tuple[Any, int]:
        n = _length(data, at)
        return _tuple((self.step,) * n, n * self.step[2], data, at + WORD)


def _node(abi_type: ABIType) -> _Node | None:
    """The reader of ``abi_type``, or None for a type this module leaves to eth_abi."""
    if abi_type.is_array:
        dims = abi_type.arrlist or ()
        item = _node(abi_type.item_type)
        return _Array(item) if item is not None and len(dims[-1]) == 0 else None
    if isinstance(abi_type, TupleType):
        items = [_node(c) for c in abi_type.components]
        return None if any(i is None for i in items) else _Tuple(items)  # type: ignore[arg-type]
    assert isinstance(abi_type, BasicType)
    base, sub = abi_type.base, abi_type.sub
    if base == "uint" and isinstance(sub, int):
        return _Uint256() if sub == 256 else _Uint(sub)
    if base == "int" and isinstance(sub, int):
        return _Int(sub)
    if base == "address":
        return _Address()
    if base == "bool":
        return _Bool()
    if base == "bytes":
        return _FixedBytes(sub) if isinstance(sub, int) else _Bytes(text=False)
    if base == "string":
        return _Bytes(text=True)
    return None


def reader(types: Sequence[str]) -> Callable[[bytes], tuple[Any, ...]] | None:
    """A decoder of the canonical encoding of ``types`` (as `eth_abi.decode(types, data)`), or
    None when one of them is a type this module does not read (fixed-size arrays, fixed-point)."""
    nodes = [_node(parse(t)) for t in types]
    if any(n is None for n in nodes):
        return None
    return _Tuple(nodes).whole  # type: ignore[arg-type]
