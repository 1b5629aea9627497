"""What the UIs show beside the chat: the wallet, Aave, the session and the chain, read at once."""

from __future__ import annotations

from dataclasses import dataclass

from agent.seams import SessionStatus
from tools.aave_v3.reads import Reserve
from tools.portfolio import Portfolio


@dataclass(frozen=True)
class Snapshot:
    portfolio: Portfolio
    reserves: tuple[Reserve, ...]
    session: SessionStatus
    profile: str
    gas_price_wei: int | None = None
    """What a transaction sent now pays a unit of gas (the next block's base fee and the tip):
    read only for a question about gas (`answers.asks_gas`), not on every sidebar refresh."""
