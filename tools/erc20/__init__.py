"""ERC-20 tokens: metadata, balances, exact approvals and transfers."""
