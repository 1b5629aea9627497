"""The transaction types every layer shares: adapters build `Call`s, the decoder turns them into
`DecodedCall`s (what the policy engine judges), the simulator reports `SimulatedCall`s.

Amounts are integers in base units; addresses are checksummed strings; ETH is the native token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

NATIVE = "ETH"


@dataclass(frozen=True, slots=True)
class Call:
    """An unsigned transaction from the wallet, as a protocol adapter built it."""

    to: str
    data: bytes
    value: int = 0
    label: str = ""

    @property
    def selector(self) -> bytes:
        return self.data[:4]


@dataclass(frozen=True, slots=True)
class TokenAmount:
    """An amount of one token: ``token`` is the ERC-20 address, or ``NATIVE`` for ETH."""

    token: str
    symbol: str
    amount: int


@dataclass(frozen=True, slots=True)
class DecodedCall:
    """What a call does, decoded from its calldata against the address book's ABIs.

    ``spends`` lists what leaves the wallet or what it lets a spender take (an approval), so that
    an approval counts against the spend of its token. ``inner`` holds the calls a multicall wraps.
    """

    call: Call
    contract: str
    protocol: str
    function: str
    args: Mapping[str, object]
    spends: tuple[TokenAmount, ...] = ()
    recipient: str | None = None
    spender: str | None = None
    inner: tuple[DecodedCall, ...] = ()


@dataclass(frozen=True, slots=True)
class SimulatedCall:
    """The outcome of one call on a throwaway copy of the chain."""

    call: Call
    success: bool
    gas_used: int
    fee_wei: int
    balance_deltas: Mapping[str, int] = field(default_factory=dict)
    revert_reason: str | None = None
    health_factor_after: Decimal | None = None
