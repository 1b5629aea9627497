"""ABIs shipped in the protocol folders, and lean contract objects built from them."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_abi import decode, encode, is_encodable
from eth_abi.grammar import ABIType, TupleType, parse

from tools.chain.address import keccak, to_checksum_address
from tools.chain.calldata import NotCanonical, reader

if TYPE_CHECKING:
    from tools.chain.plain import Node

_TOOLS = Path(__file__).resolve().parents[1]
ABIS = {
    "erc20": "erc20/erc20.abi.json",
    "weth9": "weth/weth9.abi.json",
    "swap_router02": "uniswap_v3/swap_router02.abi.json",
    "quoter_v2": "uniswap_v3/quoter_v2.abi.json",
    "uniswap_factory": "uniswap_v3/factory.abi.json",
    "uniswap_pool": "uniswap_v3/pool.abi.json",
    "aave_pool": "aave_v3/pool.abi.json",
    "aave_data_provider": "aave_v3/data_provider.abi.json",
    "aave_oracle": "aave_v3/oracle.abi.json",
    "aave_aggregator": "aave_v3/aggregator.abi.json",
    "aave_addresses_provider": "aave_v3/addresses_provider.abi.json",
}


@cache
def abi(name: str) -> list[dict[str, Any]]:
    return list(json.loads((_TOOLS / ABIS[name]).read_text()))


def _type(entry: dict[str, Any]) -> str:
    """The canonical ABI type of an input or output (structs as tuples)."""
    kind = str(entry["type"])
    if not kind.startswith("tuple"):
        return kind
    return "(" + ",".join(_type(c) for c in entry["components"]) + ")" + kind[len("tuple") :]


def _checksummer(abi_type: ABIType) -> Callable[[Any], Any]:
    """Turns decoded addresses (lower case from eth_abi) into checksummed ones, as web3 does."""
    if abi_type.is_array:
        item = _checksummer(abi_type.item_type)
        return lambda values: [item(v) for v in values]
    if isinstance(abi_type, TupleType):
        parts = [_checksummer(c) for c in abi_type.components]
        return lambda values: tuple(f(v) for f, v in zip(parts, values, strict=True))
    if abi_type.to_type_str() == "address":
        return to_checksum_address
    return lambda value: value


@dataclass(frozen=True)
class Function:
    """One function of an ABI, with its selector and codecs computed once."""

    name: str
    selector: bytes
    inputs: tuple[str, ...]
    input_names: tuple[str, ...]
    outputs: tuple[str, ...]
    convert: tuple[Callable[[Any], Any], ...]
    read_args: Callable[[bytes], dict[str, Any]] | None = field(default=None, compare=False)

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Function:
        inputs = tuple(_type(i) for i in entry["inputs"])
        outputs = tuple(_type(o) for o in entry.get("outputs", []))
        signature = f"{entry['name']}({','.join(inputs)})"
        names = tuple(i["name"] for i in entry["inputs"])
        return cls(
            entry["name"],
            keccak(signature.encode())[:4],
            inputs,
            names,
            outputs,
            tuple(_checksummer(parse(o)) for o in outputs),
            reader(inputs, names),
        )

    def encode(self, args: Sequence[Any]) -> bytes:
        return self.selector + encode(self.inputs, list(args))

    def decode_args(self, data: bytes) -> dict[str, Any]:
        """The arguments encoded in ``data`` (calldata after the selector), by name, as eth_abi
        decodes them; `eth_abi.exceptions.DecodingError` when they are not a valid encoding."""
        if self.read_args is not None:
            try:
                return self.read_args(data)
            except NotCanonical:
                pass
        return dict(zip(self.input_names, decode(self.inputs, data), strict=True))

    def decode(self, data: bytes) -> Any:
        values = [f(v) for f, v in zip(self.convert, decode(self.outputs, data), strict=True)]
        return values[0] if len(values) == 1 else values


@cache
def by_selector(name: str) -> dict[bytes, Function]:
    """The functions of ABI ``name`` by 4-byte selector."""
    return {f.selector: f for group in functions(name).values() for f in group}


@cache
def functions(name: str) -> dict[str, tuple[Function, ...]]:
    """The functions of ABI ``name`` by function name (overloads together)."""
    found: dict[str, list[Function]] = {}
    for entry in abi(name):
        if entry.get("type") == "function":
            found.setdefault(entry["name"], []).append(Function.of(entry))
    return {k: tuple(v) for k, v in found.items()}


class Reverted(Exception):
    """An eth_call that reverted: the node's message, and the revert data when it gave any."""

    def __init__(self, message: str, data: str | None) -> None:
        super().__init__(message)
        self.data = data


class BoundCall:
    def __init__(self, contract: LeanContract, function: Function, args: tuple[Any, ...]) -> None:
        self.contract, self.function, self.args = contract, function, args

    def call(self, block_identifier: str | int = "latest") -> Any:
        """An eth_call, decoded; a revert raises `Reverted`."""
        block = hex(block_identifier) if isinstance(block_identifier, int) else block_identifier
        request = {
            "to": self.contract.address,
            "data": "0x" + self.function.encode(self.args).hex(),
        }
        response = self.contract.w3.provider.make_request("eth_call", [request, block])
        error = response.get("error")
        if error:
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            raise Reverted(message, error.get("data") if isinstance(error, dict) else None)
        return self.function.decode(bytes.fromhex(str(response["result"])[2:]))


class _Functions:
    def __init__(self, contract: LeanContract) -> None:
        self._contract = contract

    def __getattr__(self, name: str) -> Callable[..., BoundCall]:
        def bind(*args: Any) -> BoundCall:
            return BoundCall(self._contract, self._contract.resolve(name, args), args)

        return bind


class LeanContract:
    """What the agent needs of a web3 contract (``functions.NAME(*args).call()``, ``encode_abi``,
    ``address``), without web3's per-call ABI search: that search hashes every signature of the
    ABI on every call, which was most of a plan's CPU time. Its client is any `Node`: the agent's
    `tools.chain.plain.Client`, or a `Web3` (the devnet's build, the tests)."""

    def __init__(self, w3: Node, name: str, address: str) -> None:
        self.w3 = w3
        self.name = name
        self.address = to_checksum_address(address)
        self.functions = _Functions(self)

    def resolve(self, fn: str, args: Sequence[Any]) -> Function:
        candidates = [f for f in functions(self.name).get(fn, ()) if len(f.inputs) == len(args)]
        if len(candidates) > 1:
            candidates = [
                f for f in candidates if is_encodable("(" + ",".join(f.inputs) + ")", tuple(args))
            ]
        if not candidates:
            raise ValueError(f"{self.name} has no function {fn} taking {len(args)} argument(s)")
        return candidates[0]

    def encode_abi(self, fn: str, args: Sequence[Any] = ()) -> str:
        return "0x" + self.resolve(fn, args).encode(args).hex()


def contract(w3: Node, name: str, address: str) -> LeanContract:
    """A contract object for ``address`` with the ABI ``name`` (cheap: its codecs and checksum
    are cached; the object is not, as a plan's reads each bind it to a block, `AtBlock`)."""
    return LeanContract(w3, name, address)
