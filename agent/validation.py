"""Pydantic's validation errors in the words of the files people write (TOML policies, YAML
strategies), not in pydantic's ("Input should be a valid tuple")."""

from __future__ import annotations

from pydantic_core import ErrorDetails

_PLAIN = {
    "tuple_type": 'should be a list, like ["a", "b"]',
    "list_type": "should be a list",
    "string_type": "should be text",
    "bool_type": "should be true or false",
    "int_type": "should be a whole number",
    "int_parsing": "should be a whole number",
    "missing": "is required",
}

_BOUNDS = {
    "greater_than_equal": "at least",
    "less_than_equal": "at most",
    "greater_than": "more than",
    "less_than": "less than",
}


def said(error: ErrorDetails) -> str:
    """What is wrong, as the file's author would put it."""
    kind = error["type"]
    if kind in _PLAIN:
        return _PLAIN[kind]
    context = error.get("ctx") or {}
    if kind in _BOUNDS:
        return f"should be {_BOUNDS[kind]} {next(iter(context.values()), None)}"
    if kind == "string_too_short":
        least = context.get("min_length", 1)
        return "cannot be empty" if least == 1 else f"needs at least {least} characters"
    if kind == "too_short":
        least = context.get("min_length", 1)
        return f"needs at least {least} item{'' if least == 1 else 's'}"
    if kind == "too_long":
        most = context.get("max_length")
        return f"has more than the {most} items allowed" if most else str(error["msg"])
    return str(error["msg"]).removeprefix("Value error, ")
