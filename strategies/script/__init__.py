"""Strategy files: the YAML format, its guard expressions, and the shipped examples."""
