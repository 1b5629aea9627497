"""Policies, sessions and the engine that decides on transactions."""

from pathlib import Path

DEFAULT_POLICY = Path(__file__).with_name("default.toml")
"""The policy of the default session (light to import: `plan` reads it without pydantic)."""
DEFAULT_SLIPPAGE_BPS = 50
"""A policy's default slippage when its ``[slippage]`` table names none."""
