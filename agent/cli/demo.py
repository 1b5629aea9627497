"""`defi-agent demo`: a short headless tour of the devnet: balances, a swap quote, Aave markets."""

from __future__ import annotations

from decimal import Decimal

from agent.cli.context import chain_config, notify, wallet_address


def demo() -> None:
    """Show the wallet, quote 1 ETH -> USDC on Uniswap V3 and list Aave V3's markets."""
    from rich.table import Table

    from agent.cli.render import amount, console, render_portfolio
    from tools.aave_v3.reads import reserves
    from tools.chain.plain import Client
    from tools.chain.running import ensure
    from tools.erc20.reads import token
    from tools.portfolio import read_portfolio
    from tools.uniswap_v3.quote import best_quote

    chain = ensure(chain_config(), notify)
    w3, book = Client(chain.url), chain.book
    render_portfolio(read_portfolio(w3, book, wallet_address()))

    weth, usdc = token(w3, book, "WETH"), token(w3, book, "USDC")
    quote = best_quote(w3, book, weth, usdc, "exact_in", weth.to_raw(Decimal(1)))
    console.print(
        f"\nQuote: 1 ETH -> {amount(usdc.to_units(quote.amount_out))} USDC "
        f"via {quote.route.describe()} (price impact {quote.price_impact_bps:.2f} bps)\n"
    )
    markets = Table(title="Aave V3 markets")
    for column in ("reserve", "supply\nAPY", "borrow\nAPY", "utilisation", "supplied"):
        markets.add_column(column, justify="right")  # two-line headers: whole in 60 columns
    for r in reserves(w3, book):
        markets.add_row(
            r.symbol,
            f"{r.supply_apy:.2%}",
            f"{r.borrow_apy:.2%}",
            f"{r.utilisation:.1%}",
            f"{r.total_supplied:,.2f}",  # a market's total: cents are enough
        )
    console.print(markets)
    console.print(
        'Next: defi-agent plan "swap 0.1 WBTC to USDC then supply it to aave" · '
        "defi-agent portfolio · defi-agent chain warp 30d"
    )
