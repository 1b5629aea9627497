"""Aave V3: supply, withdraw, borrow, repay; positions, health factor, APYs, the price oracle."""
