"""WETH9: wrap ETH into WETH and unwrap it back."""
