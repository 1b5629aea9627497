"""The Textual chat UI: a thin shell over the core service (`agent.service`)."""
