"""Fast decoding of canonically encoded ABI values: what the policy engine reads every call with.

eth_abi's general decoder takes ~20-80 µs a call; calldata our adapters (or any standard encoder)
build is canonical, and reads in a few µs by walking its 32-byte words. `reader` returns, for a
list of ABI types and their names, a function that decodes exactly what `eth_abi.decode` decodes,
to the same values (addresses as lower-case hex, arrays as tuples) in a dict by name, or raises `NotCanonical` for anything it
does not recognise as canonical: padding that is not zero, a value out of its type's range, an
offset that is not where a canonical encoding puts it, trailing bytes. The caller then decodes with
eth_abi, which decides. A Hypothesis test checks both agree on every function the policy decodes.

The words of a static type, and the heads of the list of types, lie at offsets known from the
types alone, so their reader is generated once per function as straight-line Python source (as
`dataclasses` generates ``__init__``): one slice and check per word, no loop and no call per
item. Dynamic values (``bytes``, ``string``, arrays, dynamic tuples inside) are read by walking
heads and tails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eth_abi.grammar import ABIType, BasicType, TupleType, parse

WORD = 32
_ZERO = bytes(WORD)
_ZEROS = {f"Z{n}": bytes(n) for n in range(1, WORD + 1)}
"""The zero paddings generated readers compare with, by name (Z12: the 12 bytes before an
address)."""
_from_bytes = int.from_bytes
"""Bound once: ``int.from_bytes`` is a class method, looked up and bound again at every use."""


class NotCanonical(Exception):
    """The bytes are not a canonical encoding this reader knows: decode them with eth_abi."""


class _Static(Protocol):
    """A type of fixed size: its reader is generated from `code`."""

    dynamic: bool
    size: int

    def code(self, base: str, at: int) -> tuple[list[str], str]:
        """Python source reading this type from the bytes ``d`` at offset ``at``: conditions
        true when they are not a canonical encoding of it, and the expression of its value."""
        ...


class _Dynamic(Protocol):
    dynamic: bool
    size: int

    def read(self, data: bytes, at: int) -> tuple[Any, int]:
        """The value whose encoding starts at ``at``, and where it ends."""
        ...


_Node = _Static | _Dynamic

_Step = tuple[bool, Callable[..., Any], int]
"""How a tuple reads one item: (dynamic, reader, head size). A static item's reader takes exactly
its bytes; a dynamic item's takes the data and where its tail starts, and returns the value and
where the tail ends."""


def _compiled(parameters: str, lines: Sequence[str], names: dict[str, Any]) -> Callable[..., Any]:
    """The function ``read(parameters)`` with body ``lines``, which may use ``names``."""
    source = f"def read({parameters}):\n" + "".join(f"    {line}\n" for line in lines)
    namespace = {"NotCanonical": NotCanonical, "from_bytes": _from_bytes, **_ZEROS, **names}
    exec(source, namespace)  # the source is generated above from ABI types alone
    return namespace["read"]


def _raise_if(conditions: Sequence[str]) -> list[str]:
    return [f"if {' or '.join(conditions)}: raise NotCanonical"] if conditions else []


def _exactly(node: _Static) -> Callable[[bytes], Any]:
    """The reader of exactly ``node``'s encoding (its bytes sliced out of the data)."""
    conditions, value = node.code("", 0)
    return _compiled("d", [*_raise_if(conditions), f"return {value}"], {})


def _length(data: bytes, at: int) -> int:
    """The length word at ``at``: no more than there are bytes."""
    if at + WORD > len(data):
        raise NotCanonical
    n = _from_bytes(data[at : at + WORD])
    if n > len(data):
        raise NotCanonical
    return n


class _Uint:
    dynamic, size = False, WORD

    def __init__(self, bits: int) -> None:
        self.padding = WORD - bits // 8

    def code(self, base: str, at: int) -> tuple[list[str], str]:
        pad = self.padding
        checks = [f"d[{base}{at}:{base}{at + pad}] != Z{pad}"] if pad else []
        return checks, f"from_bytes(d[{base}{at + pad}:{base}{at + WORD}])"


class _Int:
    dynamic, size = False, WORD

    def __init__(self, bits: int) -> None:
        self.bits = bits

    def code(self, base: str, at: int) -> tuple[list[str], str]:
        value = f"from_bytes(d[{base}{at}:{base}{at + WORD}], signed=True)"
        bound = 1 << (self.bits - 1)
        return ([f"not {-bound} <= {value} < {bound}"] if self.bits < 256 else []), value


class _Address:
    dynamic, size = False, WORD

    def code(self, base: str, at: int) -> tuple[list[str], str]:
        return [
            f"d[{base}{at}:{base}{at + 12}] != Z12"
        ], f"'0x' + d[{base}{at + 12}:{base}{at + WORD}].hex()"


class _Bool:
    dynamic, size = False, WORD

    def code(self, base: str, at: int) -> tuple[list[str], str]:
        last = at + WORD - 1
        return [
            f"d[{base}{at}:{base}{last}] != Z31",
            f"d[{base}{last}] > 1",
        ], f"d[{base}{last}] == 1"


class _FixedBytes:
    dynamic, size = False, WORD

    def __init__(self, n: int) -> None:
        self.n = n

    def code(self, base: str, at: int) -> tuple[list[str], str]:
        n, pad = self.n, WORD - self.n
        return (
            [f"d[{base}{at + n}:{base}{at + WORD}] != Z{pad}"] if pad else []
        ), f"d[{base}{at}:{base}{at + n}]"


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
            if base + _from_bytes(data[head : head + WORD]) != tail:
                raise NotCanonical
            value, tail = read(data, tail)
        else:
            value = read(data[head : head + size])
        head += size
        values.append(value)
    return tuple(values), tail


def _step(item: _Node) -> _Step:
    if item.dynamic:
        return True, item.read, WORD  # type: ignore[union-attr]
    return False, _exactly(item), item.size  # type: ignore[arg-type]


class _Tuple:
    def __init__(self, items: Sequence[_Node]) -> None:
        self.items = tuple(items)
        self.heads = sum(i.size for i in items)
        self.dynamic = any(i.dynamic for i in items)
        self.size = WORD if self.dynamic else self.heads
        if self.dynamic:
            lines, values, names = self._parts("b + ", f"b + {self.heads} > len(d)")
            self.read = _compiled("d, b", [*lines, f"return {_tuple_of(values)}, t"], names)

    def code(self, base: str, at: int) -> tuple[list[str], str]:
        """A static tuple's: its items' words one after another."""
        conditions, values = [], []
        for item in self.items:
            checks, value = item.code(base, at)  # type: ignore[union-attr]
            conditions += checks
            values.append(value)
            at += item.size
        return conditions, _tuple_of(values)

    def _parts(self, base: str, short: str) -> tuple[list[str], list[str], dict[str, Any]]:
        """The reader of this tuple from ``base``, as statements that check the heads (``short``
        is true when there are fewer bytes than they need), read every tail into ``v<index>``
        and leave in ``t`` where the last one ends; each item's expression; and the readers of
        the dynamic items, by the names the statements call them."""
        conditions, values, tails, names = [short], [], [], {}
        at = 0
        for index, item in enumerate(self.items):
            if item.dynamic:
                names[f"r{index}"] = item.read  # type: ignore[union-attr]
                offset = f"from_bytes(d[{base}{at}:{base}{at + WORD}])"
                tails += [
                    f"if {base}{offset} != t: raise NotCanonical",
                    f"v{index}, t = r{index}(d, t)",
                ]
                values.append(f"v{index}")
            else:
                checks, value = item.code(base, at)  # type: ignore[union-attr]
                conditions += checks
                values.append(value)
            at += item.size
        start = [f"t = {base}{self.heads}"] if tails else []
        return [*_raise_if(conditions), *start, *tails], values, names

    def whole(self, keys: Sequence[str]) -> Callable[[bytes], dict[str, Any]]:
        """The reader of data that must be exactly this tuple's encoding, into a dict of its
        items by ``keys`` (as ``dict(zip(keys, values))``)."""
        short = f"len(d) != {self.heads}" if not self.dynamic else f"{self.heads} > len(d)"
        lines, values, names = self._parts("", short)
        if self.dynamic:
            lines.append("if t != len(d): raise NotCanonical")
        named = ", ".join(f"{key!r}: {value}" for key, value in zip(keys, values, strict=True))
        return _compiled("d", [*lines, f"return {{{named}}}"], names)


def _tuple_of(values: Sequence[str]) -> str:
    return f"({', '.join(values)},)" if values else "()"


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
        return _Uint(sub)
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


def reader(types: Sequence[str], names: Sequence[str]) -> Callable[[bytes], dict[str, Any]] | None:
    """A decoder of the canonical encoding of ``types`` into the values `eth_abi.decode(types,
    data)` gives, by ``names`` (one per type), or None when one of them is a type this module
    does not read (fixed-size arrays, fixed-point)."""
    nodes = [_node(parse(t)) for t in types]
    if any(n is None for n in nodes):
        return None
    return _Tuple(nodes).whole(names)  # type: ignore[arg-type]
