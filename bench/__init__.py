"""Benchmarks: run them as modules from the checkout, `python -m bench.NAME` (or `make bench`), so
that `bench/strategies.py` does not shadow the `strategies` package."""
