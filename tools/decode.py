"""Decode a call into what it does, from its calldata and the address book alone.

The policy engine judges these, never the labels an adapter wrote: a call to a contract the book
does not know, or a function the decoder does not recognise, decodes as ``unknown``.
"""

from __future__ import annotations

from typing import Any

from eth_abi.exceptions import DecodingError

from tools.chain.address import is_address
from tools.chain.address import to_checksum_address as _checksum
from tools.chain.addressbook import AddressBook
from tools.chain.contracts import Function, by_selector
from tools.tx import NATIVE, Call, DecodedCall, TokenAmount

ROUTER_MSG_SENDER = "0x0000000000000000000000000000000000000001"
ROUTER_ITSELF = "0x0000000000000000000000000000000000000002"
_SWAPS = {
    "exactInputSingle": (True, True),
    "exactOutputSingle": (False, True),
    "exactInput": (True, False),
    "exactOutput": (False, False),
}
"""The router's swaps: (exact input, a single pool)."""
_LENDING = {"supply": "onBehalfOf", "withdraw": "to", "borrow": "onBehalfOf", "repay": "onBehalfOf"}
"""Aave's lending calls, each with the argument naming who gets the position or the tokens."""
_PAID_IN = frozenset({"supply", "repay"})
"""The lending calls that pull ``amount`` of ``asset`` from the wallet."""


def _args(functions: dict[bytes, Function], data: bytes) -> tuple[str, dict[str, Any]] | None:
    function = functions.get(data[:4])
    if function is None:
        return None
    try:
        return function.name, function.decode_args(data[4:])
    except (DecodingError, UnicodeDecodeError, OverflowError):  # eth_abi's, for a length > 2**63
        return None


class Decoder:
    def __init__(self, book: AddressBook, wallet: str) -> None:
        self.book = book
        self.wallet = wallet
        self.symbols = {a.lower(): s for s, a in book.tokens.items()}
        self.contracts = {a.lower(): name for a, name in book.contracts().items()}
        self.weth = book.tokens.get("WETH", "").lower()
        self._erc20, self._weth9 = by_selector("erc20"), by_selector("weth9")
        self._router_fns, self._pool_fns = by_selector("swap_router02"), by_selector("aave_pool")

    def symbol(self, token: str) -> str:
        """The book's symbol for the token at ``token``, or the address itself."""
        return self.symbols.get(token.lower(), token)

    def eth(self, raw: int) -> TokenAmount:
        return TokenAmount(NATIVE, NATIVE, raw)

    def decode(self, call: Call) -> DecodedCall:
        target = call.to.lower()
        symbol = self.symbols.get(target)
        if symbol is not None:
            return self._token(call, symbol)
        name = self.contracts.get(target)
        if name == "uniswap-v3:swap_router02":
            return self._router(call)
        if name == "aave-v3:pool":
            return self._pool(call)
        if name is not None:
            return DecodedCall(call, name, name.split(":")[0], _selector(call), "unknown")
        if not call.data:
            return DecodedCall(
                call,
                "account",
                None,
                "",
                "transfer",
                spends=(self.eth(call.value),),
                recipients=(_checksum(call.to) if is_address(call.to) else call.to,),
                tokens=(NATIVE,),
            )
        return DecodedCall(
            call,
            "unknown contract",
            None,
            _selector(call),
            "unknown",
            spends=(self.eth(call.value),) if call.value else (),
            tokens=(NATIVE,) if call.value else (),
        )

    def _token(self, call: Call, symbol: str) -> DecodedCall:
        contract = f"token:{symbol}"
        is_weth = symbol == "WETH"
        decoded = _args(self._weth9 if is_weth else self._erc20, call.data)
        value = (self.eth(call.value),) if call.value else ()
        touched = (symbol, NATIVE) if call.value else (symbol,)
        if decoded is None:
            return DecodedCall(
                call, contract, "erc20", _selector(call), "unknown", spends=value, tokens=touched
            )
        function, args = decoded
        if function == "approve":
            spender, raw = args.values()
            return DecodedCall(
                call,
                contract,
                "erc20",
                function,
                "approve",
                args,
                value,
                TokenAmount(call.to, symbol, raw),
                _checksum(spender),
                tokens=touched,
            )
        if function == "transfer":
            to, raw = args.values()
            return DecodedCall(
                call,
                contract,
                "erc20",
                function,
                "transfer",
                args,
                (*value, TokenAmount(call.to, symbol, raw)),
                recipients=(_checksum(to),),
                tokens=touched,
            )
        if is_weth and function == "deposit":
            return DecodedCall(
                call, contract, "weth", function, "wrap", args, value, tokens=touched
            )
        if is_weth and function == "withdraw":
            (raw,) = args.values()
            return DecodedCall(
                call,
                contract,
                "weth",
                function,
                "unwrap",
                args,
                (*value, TokenAmount(call.to, symbol, raw)),
                tokens=touched,
            )
        action = "transferFrom" if function == "transferFrom" else "unknown"
        return DecodedCall(call, contract, "erc20", function, action, args, value, tokens=touched)

    def _pool(self, call: Call) -> DecodedCall:
        contract = "aave-v3:pool"
        decoded = _args(self._pool_fns, call.data)
        value = (self.eth(call.value),) if call.value else ()
        eth = (NATIVE,) if call.value else ()
        if decoded is None:
            return DecodedCall(
                call, contract, "aave-v3", _selector(call), "unknown", spends=value, tokens=eth
            )
        function, args = decoded
        if function not in _LENDING:
            return DecodedCall(
                call, contract, "aave-v3", function, "unknown", args, value, tokens=eth
            )
        asset = args["asset"]
        symbol = self.symbol(asset)
        spends = (
            (*value, TokenAmount(asset, symbol, args["amount"])) if function in _PAID_IN else value
        )
        return DecodedCall(
            call,
            contract,
            "aave-v3",
            function,
            function,
            args,
            spends,
            recipients=(_checksum(args[_LENDING[function]]),),
            tokens=(symbol, *eth),
        )

    def _router(self, call: Call) -> DecodedCall:
        contract = "uniswap-v3:swap_router02"
        decoded = _args(self._router_fns, call.data)
        value = (self.eth(call.value),) if call.value else ()
        eth = (NATIVE,) if call.value else ()
        if decoded is None:
            return DecodedCall(
                call, contract, "uniswap-v3", _selector(call), "unknown", spends=value, tokens=eth
            )
        function, args = decoded
        if function != "multicall":
            return self._router_inner(call, function, args, call.value)
        inner, spends, recipients, touched = [], [], [], []
        for data in args["data"]:
            part = Call(call.to, bytes(data), 0)
            name, part_args = _args(self._router_fns, part.data) or (_selector(part), {})
            decoded_part = self._router_inner(part, name, part_args, call.value)
            inner.append(decoded_part)
            for spent in decoded_part.spends:
                if spent.token != NATIVE:
                    spends.append(spent)
            recipients += decoded_part.recipients
            touched += decoded_part.tokens
        return DecodedCall(
            call,
            contract,
            "uniswap-v3",
            function,
            "multicall",
            args,
            (*spends, *value),
            recipients=tuple(recipients),
            inner=tuple(inner),
            tokens=(*touched, *eth),
        )

    def _router_inner(
        self, call: Call, function: str, args: dict[str, Any], eth_value: int
    ) -> DecodedCall:
        contract = "uniswap-v3:swap_router02"
        swap = _SWAPS.get(function)
        if swap is not None:
            exact_in, single = swap
            (params,) = args.values()
            if single:
                raw_in, raw_out, _fee, recipient, amount_a, amount_b, _limit = params
            else:
                path, recipient, amount_a, amount_b = params
                first, last = "0x" + path[:20].hex(), "0x" + path[-20:].hex()
                raw_in, raw_out = (first, last) if exact_in else (last, first)
            spent = amount_a if exact_in else amount_b
            token_in, token_out = _checksum(raw_in), _checksum(raw_out)
            symbols = self.symbols  # by lower-case address, as the tokens are read
            symbol_in, symbol_out = symbols.get(raw_in, token_in), symbols.get(raw_out, token_out)
            paying_eth = bool(eth_value) and raw_in == self.weth
            paid = self.eth(spent) if paying_eth else TokenAmount(token_in, symbol_in, spent)
            details = {
                "token_in": token_in,
                "token_out": token_out,
                "exact_in": exact_in,
                "amount_in" if exact_in else "amount_out": amount_a,
                "min_out" if exact_in else "max_in": amount_b,
            }
            return DecodedCall(
                call,
                contract,
                "uniswap-v3",
                function,
                "swap",
                details,
                (paid,),
                recipients=(_recipient(recipient, self.wallet),),
                tokens=(symbol_in, symbol_out, NATIVE) if eth_value else (symbol_in, symbol_out),
            )
        if function == "unwrapWETH9":
            recipient = list(args.values())[1] if len(args) == 2 else ROUTER_MSG_SENDER
            return DecodedCall(
                call,
                contract,
                "uniswap-v3",
                function,
                "unwrap-output",
                args,
                recipients=(_recipient(recipient, self.wallet),),
            )
        if function == "sweepToken":
            recipient = list(args.values())[2] if len(args) == 3 else ROUTER_MSG_SENDER
            return DecodedCall(
                call,
                contract,
                "uniswap-v3",
                function,
                "sweep-output",
                args,
                recipients=(_recipient(recipient, self.wallet),),
                tokens=(self.symbol(args["token"]),),
            )
        if function == "refundETH":
            return DecodedCall(call, contract, "uniswap-v3", function, "refund", args)
        return DecodedCall(call, contract, "uniswap-v3", function, "unknown", args)


def _selector(call: Call) -> str:
    return "0x" + call.data[:4].hex() if call.data else "no calldata"


def _recipient(value: str, wallet: str) -> str:
    """The router's constants for "the caller" and "the router itself" as addresses."""
    address = _checksum(value)
    return wallet if address == ROUTER_MSG_SENDER else address
