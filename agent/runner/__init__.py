"""Scripted strategies run headless: the runner, its readings, its progress store and events."""
