"""`python -m agent` is the `defi-agent` command."""

from agent.cli import main

main()
