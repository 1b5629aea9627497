"""Deploy Aave V3 in full from @aave/core-v3's artifacts and list the devnet's reserves.

Order and parameters follow @aave/deploy-v3: the ACL admin is set on the PoolAddressesProvider before
ACLManager exists; the Pool and PoolConfigurator are linked against their logic libraries and set as
implementations, so that the provider creates their proxies; token implementations take the Pool
proxy; prices come from one MockAggregator per asset behind AaveOracle.
"""

from __future__ import annotations

from decimal import Decimal

from tools.devnet import artifacts
from tools.devnet.deployer import Deployer
from tools.devnet.params import RAY, RESERVES, USD_PRICES
from tools.devnet.uniswap import ZERO

_LOGIC = "protocol/libraries/logic"
_POOL_LIBRARIES = ("SupplyLogic", "BorrowLogic", "LiquidationLogic", "EModeLogic", "BridgeLogic")


def _a(relative: str) -> artifacts.Artifact:
    return artifacts.load("aave", relative)


def deploy_price_feed(d: Deployer, deployer: str, usd: Decimal) -> str:
    """A Chainlink-style aggregator answering ``usd`` with 8 decimals."""
    feed = _a("mocks/oracle/CLAggregators/MockAggregator.sol/MockAggregator")
    return d.deploy(deployer, feed, int(usd * 10**8))


def deploy_aave(
    d: Deployer, deployer: str, tokens: dict[str, str], decimals: dict[str, int]
) -> dict[str, str]:
    provider_artifact = _a("protocol/configuration/PoolAddressesProvider.sol/PoolAddressesProvider")
    provider = d.deploy(deployer, provider_artifact, "defi-agent devnet", deployer)
    p_abi = provider_artifact.abi
    d.transact(deployer, provider, p_abi, "setACLAdmin", deployer)
    acl_artifact = _a("protocol/configuration/ACLManager.sol/ACLManager")
    acl = d.deploy(deployer, acl_artifact, provider)
    d.transact(deployer, provider, p_abi, "setACLManager", acl)
    d.transact(deployer, acl, acl_artifact.abi, "addPoolAdmin", deployer)

    libs: dict[str, str] = {}
    for name in ("SupplyLogic", "BorrowLogic", "ConfiguratorLogic"):
        libs[name] = d.deploy(deployer, _a(f"{_LOGIC}/{name}.sol/{name}"))
    libs["FlashLoanLogic"] = d.deploy(
        deployer, _a(f"{_LOGIC}/FlashLoanLogic.sol/FlashLoanLogic"), libraries=libs
    )
    for name in (*_POOL_LIBRARIES[2:], "PoolLogic"):
        libs[name] = d.deploy(deployer, _a(f"{_LOGIC}/{name}.sol/{name}"))
    pool_impl = d.deploy(deployer, _a("protocol/pool/Pool.sol/Pool"), provider, libraries=libs)
    d.transact(deployer, provider, p_abi, "setPoolImpl", pool_impl)
    pool = d.call(provider, p_abi, "getPool")
    configurator_artifact = _a("protocol/pool/PoolConfigurator.sol/PoolConfigurator")
    configurator_impl = d.deploy(deployer, configurator_artifact, libraries=libs)
    d.transact(deployer, provider, p_abi, "setPoolConfiguratorImpl", configurator_impl)
    configurator = d.call(provider, p_abi, "getPoolConfigurator")

    assets = [tokens[r.symbol] for r in RESERVES]
    feeds = [deploy_price_feed(d, deployer, USD_PRICES[r.symbol]) for r in RESERVES]
    oracle = d.deploy(
        deployer, _a("misc/AaveOracle.sol/AaveOracle"), provider, assets, feeds, ZERO, ZERO, 10**8
    )
    d.transact(deployer, provider, p_abi, "setPriceOracle", oracle)
    data_provider = d.deploy(
        deployer, _a("misc/AaveProtocolDataProvider.sol/AaveProtocolDataProvider"), provider
    )
    d.transact(deployer, provider, p_abi, "setPoolDataProvider", data_provider)

    _list_reserves(d, deployer, provider, pool, configurator, tokens, decimals)
    return {
        "pool_addresses_provider": provider,
        "pool": pool,
        "data_provider": data_provider,
        "oracle": oracle,
    }


def _list_reserves(
    d: Deployer,
    deployer: str,
    provider: str,
    pool: str,
    configurator: str,
    tokens: dict[str, str],
    decimals: dict[str, int],
) -> None:
    a_token = d.deploy(deployer, _a("protocol/tokenization/AToken.sol/AToken"), pool)
    variable_debt = d.deploy(
        deployer, _a("protocol/tokenization/VariableDebtToken.sol/VariableDebtToken"), pool
    )
    stable_debt = d.deploy(
        deployer, _a("protocol/tokenization/StableDebtToken.sol/StableDebtToken"), pool
    )
    rate_artifact = _a(
        "protocol/pool/DefaultReserveInterestRateStrategy.sol/DefaultReserveInterestRateStrategy"
    )
    inputs = []
    for r in RESERVES:
        strategy = d.deploy(
            deployer,
            rate_artifact,
            provider,
            int(r.optimal_usage * RAY),
            0,
            int(r.slope1 * RAY),
            int(r.slope2 * RAY),
            0,
            0,
            0,
            0,
            0,
        )
        s = r.symbol
        inputs.append(
            (
                a_token,
                stable_debt,
                variable_debt,
                decimals[s],
                strategy,
                tokens[s],
                deployer,
                ZERO,
                f"Aave devnet {s}",
                f"a{s}",
                f"Aave devnet variable debt {s}",
                f"variableDebt{s}",
                f"Aave devnet stable debt {s}",
                f"stableDebt{s}",
                b"",
            )
        )
    c_abi = _a("protocol/pool/PoolConfigurator.sol/PoolConfigurator").abi
    d.transact(deployer, configurator, c_abi, "initReserves", inputs)
    for r in RESERVES:
        asset = tokens[r.symbol]
        d.transact(
            deployer,
            configurator,
            c_abi,
            "configureReserveAsCollateral",
            asset,
            r.ltv_bps,
            r.liquidation_threshold_bps,
            r.liquidation_bonus_bps,
        )
        d.transact(deployer, configurator, c_abi, "setReserveBorrowing", asset, True)
        d.transact(deployer, configurator, c_abi, "setReserveFactor", asset, r.reserve_factor_bps)
