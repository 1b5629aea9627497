"""Everything about reaching a chain: the anvil launcher, profiles, address books, RPC access."""
