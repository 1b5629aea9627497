"""Uniswap V3: pool reads, QuoterV2 quotes and SwapRouter02 swaps."""
