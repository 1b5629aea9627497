"""The fast calldata reader decodes exactly what eth_abi decodes: on every function of the ABIs the
policy engine decodes calls with, for canonical encodings of random arguments and for those bytes damaged at random (where
the reader either agrees with eth_abi or hands the bytes to it)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import decode, encode
from eth_abi.grammar import ABIType, BasicType, TupleType, parse
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.chain.calldata import NotCanonical, reader
from tools.chain.contracts import Function, functions


def values(abi_type: ABIType) -> st.SearchStrategy[Any]:
    """Random Python values of ``abi_type``, as eth_abi encodes them."""
    if abi_type.is_array:
        return st.lists(values(abi_type.item_type), max_size=3).map(tuple)
    if isinstance(abi_type, TupleType):
        return st.tuples(*(values(c) for c in abi_type.components))
    assert isinstance(abi_type, BasicType)
    base, sub = abi_type.base, abi_type.sub
    if base == "uint":
        return st.integers(0, 2**sub - 1)
    if base == "int":
        return st.integers(-(2 ** (sub - 1)), 2 ** (sub - 1) - 1)
    if base == "address":
        return st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
    if base == "bool":
        return st.booleans()
    if base == "bytes":
        return st.binary(min_size=sub, max_size=sub) if sub else st.binary(max_size=70)
    assert base == "string"
    return st.text(max_size=20)


DECODED = ("erc20", "weth9", "swap_router02", "aave_pool")
FUNCTIONS = sorted(
    {
        f.selector: f for name in DECODED for group in functions(name).values() for f in group
    }.values(),
    key=lambda f: f.name,
)
TAKEN = [f for f in FUNCTIONS if f.inputs]


def test_the_reader_takes_every_function_the_policy_decodes() -> None:
    assert all(f.read_args is not None for f in FUNCTIONS)


def named(function: Function, values: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(function.input_names, values, strict=True))


def outcome(fn, data: bytes) -> tuple[str, Any]:
    try:
        return "ok", fn(data)
    except Exception as error:
        return "error", type(error).__name__


@pytest.mark.parametrize("function", TAKEN, ids=[f"{f.name}({','.join(f.inputs)})" for f in TAKEN])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_agrees_with_eth_abi(function: Function, data: st.DataObject) -> None:
    args = data.draw(st.tuples(*(values(parse(t)) for t in function.inputs)))
    encoded = encode(list(function.inputs), list(args))
    assert function.read_args is not None
    assert function.read_args(encoded) == named(function, decode(list(function.inputs), encoded))
    damage = data.draw(
        st.one_of(
            st.tuples(st.integers(0, max(0, len(encoded) - 1)), st.integers(1, 255)),
            st.just((len(encoded), 0)),
        )
    )
    at, xor = damage
    damaged = (
        encoded + bytes(32)
        if xor == 0
        else encoded[:at] + bytes([encoded[at] ^ xor]) + encoded[at + 1 :]
    )
    expected = outcome(lambda d: named(function, decode(list(function.inputs), d)), damaged)
    assert outcome(function.decode_args, damaged) == expected
    fast = outcome(function.read_args, damaged)
    assert fast == expected or fast == ("error", NotCanonical.__name__)


def test_truncated_calldata_is_not_canonical() -> None:
    read = reader(["address", "uint256"], ["spender", "amount"])
    assert read is not None
    with pytest.raises(NotCanonical):
        read(bytes(63))
