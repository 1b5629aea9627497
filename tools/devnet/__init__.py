"""The local devnet: real Uniswap V3 and Aave V3 bytecode from their npm artifacts, seeded and cached."""
