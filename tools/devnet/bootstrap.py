"""Build the devnet from scratch on a running anvil: tokens, Uniswap V3, Aave V3, liquidity, wallet."""

from __future__ import annotations

from decimal import Decimal

from web3 import Web3

from tools.chain.addressbook import AaveV3Book, AddressBook, UniswapV3Book
from tools.chain.plain import rpc
from tools.devnet import artifacts
from tools.devnet.aave import deploy_aave
from tools.devnet.deployer import Deployer
from tools.devnet.params import (
    BORROWER_BORROWS,
    BORROWER_SUPPLIES,
    SUPPLIER_BORROWS,
    SUPPLIER_SUPPLIES,
    TOKENS,
    WALLET_ETH,
    WALLET_TOKENS,
)
from tools.devnet.uniswap import deploy_uniswap, seed_pools

_RICH = hex(10**9 * 10**18)
_VARIABLE_RATE = 2


class _Devnet:
    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.d = Deployer(w3)
        accounts = rpc(w3, "eth_accounts")
        self.deployer, self.lp, self.supplier, self.borrower = (
            Web3.to_checksum_address(a) for a in accounts[-4:]
        )
        for account in (self.deployer, self.lp, self.supplier, self.borrower):
            rpc(w3, "anvil_setBalance", account, _RICH)
        self.erc20_abi = artifacts.load("aave", "mocks/tokens/MintableERC20.sol/MintableERC20").abi
        self.weth_abi = artifacts.load("aave", "dependencies/weth/WETH9.sol/WETH9").abi
        self.tokens: dict[str, str] = {}
        self.decimals: dict[str, int] = {"WETH": 18}

    def deploy_tokens(self) -> None:
        weth = artifacts.load("aave", "dependencies/weth/WETH9.sol/WETH9")
        self.tokens["WETH"] = self.d.deploy(self.deployer, weth)
        mintable = artifacts.load("aave", "mocks/tokens/MintableERC20.sol/MintableERC20")
        for symbol, (name, decimals) in TOKENS.items():
            self.tokens[symbol] = self.d.deploy(self.deployer, mintable, name, symbol, decimals)
            self.decimals[symbol] = decimals

    def fund(self, account: str, symbol: str, raw: int) -> None:
        if symbol == "WETH":
            self.d.transact(account, self.tokens["WETH"], self.weth_abi, "deposit", value=raw)
        else:
            self.d.transact(
                self.deployer, self.tokens[symbol], self.erc20_abi, "mint", account, raw
            )

    def raw(self, symbol: str, amount: int) -> int:
        return int(Decimal(amount) * 10 ** self.decimals[symbol])

    def seed_aave(self, pool: str) -> None:
        pool_abi = artifacts.load("aave", "protocol/pool/Pool.sol/Pool").abi
        for account, supplies in (
            (self.supplier, SUPPLIER_SUPPLIES),
            (self.borrower, BORROWER_SUPPLIES),
        ):
            for symbol, amount in supplies.items():
                raw = self.raw(symbol, amount)
                self.fund(account, symbol, raw)
                self.d.transact(account, self.tokens[symbol], self.erc20_abi, "approve", pool, raw)
                self.d.transact(
                    account, pool, pool_abi, "supply", self.tokens[symbol], raw, account, 0
                )
        for account, borrows in (
            (self.supplier, SUPPLIER_BORROWS),
            (self.borrower, BORROWER_BORROWS),
        ):
            for symbol, amount in borrows.items():
                raw = self.raw(symbol, amount)
                token = self.tokens[symbol]
                self.d.transact(
                    account, pool, pool_abi, "borrow", token, raw, _VARIABLE_RATE, 0, account
                )

    def fund_wallet(self, wallet: str) -> None:
        rpc(self.w3, "anvil_setBalance", wallet, hex(WALLET_ETH * 10**18))
        for symbol, amount in WALLET_TOKENS.items():
            self.fund(wallet, symbol, self.raw(symbol, amount))


def bootstrap(w3: Web3, wallet: str) -> AddressBook:
    """Deploy and seed everything on the (fresh) chain behind ``w3``; fund ``wallet``."""
    net = _Devnet(w3)
    net.deploy_tokens()
    uniswap = deploy_uniswap(net.d, net.deployer, net.tokens["WETH"])
    seed_pools(net.d, net.lp, uniswap["position_manager"], net.tokens, net.decimals, net.fund)
    aave = deploy_aave(net.d, net.deployer, net.tokens, net.decimals)
    net.seed_aave(aave["pool"])
    net.fund_wallet(wallet)
    return AddressBook(
        profile="local",
        chain_id=int(rpc(w3, "eth_chainId"), 16),
        tokens={s: net.tokens[s] for s in ("WETH", "USDC", "DAI", "WBTC")},
        uniswap_v3=UniswapV3Book(**uniswap),
        aave_v3=AaveV3Book(**aave),
    )
