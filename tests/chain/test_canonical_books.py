"""The fork profile's address books for Ethereum mainnet and Base: the same tokens and protocol
roles as the devnet, so every adapter and every plan works unchanged on a fork."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from tools.aave_v3.reads import live_book
from tools.chain.running import CANONICAL_BOOKS, canonical_book


@pytest.mark.parametrize("chain_id", sorted(CANONICAL_BOOKS))
def test_canonical_book_names_the_devnets_tokens_and_contracts(
    chain_id: int, devnet, tmp_path: Path
) -> None:
    book = canonical_book(chain_id, tmp_path)

    assert book.chain_id == chain_id
    assert book.profile == "fork"
    assert set(book.tokens) == set(devnet.book.tokens)
    addresses = [*book.tokens.values(), *book.contracts()]
    assert len(set(addresses)) == len(addresses), "one address names two things"


def test_each_network_has_its_own_addresses(tmp_path: Path) -> None:
    ethereum, base = (canonical_book(chain_id, tmp_path) for chain_id in (1, 8453))

    assert ethereum.token("USDC") != base.token("USDC")
    assert ethereum.aave_v3.pool != base.aave_v3.pool
    assert ethereum.uniswap_v3.swap_router02 != base.uniswap_v3.swap_router02


def test_unknown_chain_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        canonical_book(42161, tmp_path)

    assert "42161" in error.value.message
    assert "1, 8453" in (error.value.hint or "")


def test_live_book_asks_the_addresses_provider(devnet) -> None:
    """A copy of the book with stale Aave addresses gets the current ones back from the
    provider, which is what a fork of a live network does after an Aave upgrade."""
    stale_aave = devnet.book.aave_v3.model_copy(
        update={
            "pool": devnet.book.uniswap_v3.factory,
            "oracle": devnet.book.uniswap_v3.factory,
            "data_provider": devnet.book.uniswap_v3.factory,
        }
    )
    stale = devnet.book.model_copy(update={"aave_v3": stale_aave})

    assert live_book(devnet.w3, stale) == devnet.book
