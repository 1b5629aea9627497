"""The execution tests' fixtures (the core service on the devnet) serve the strategy tests too."""

from tests.execution.conftest import roomy

__all__ = ["roomy"]
