"""Pydantic's validation errors in the words of the files people write (TOML policies, YAML
strategies), not in pydantic's ("Input should be a valid tuple")."""

from __future__ import annotations

import difflib
from typing import get_args

from pydantic import BaseModel
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


def first_error(errors: list[ErrorDetails]) -> ErrorDetails:
    """The error to report: a field the file should not have first, as it is most often a typo
    of one reported missing ("peroid" for "period")."""
    return min(errors, key=lambda e: e["type"] != "extra_forbidden")


def said(error: ErrorDetails, model: type[BaseModel] | None = None) -> str:
    """What is wrong, as the file's author would put it; a field ``model`` (the file's) does not
    have is named with the one it likely means (QA: "max_usd_per_txn: Extra inputs are not
    permitted")."""
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _fields_at(model, error["loc"][:-1]) if model is not None else ()
        close = difflib.get_close_matches(str(error["loc"][-1]), known, n=1)
        return "is not a field here" + (f": did you mean {close[0]}?" if close else "")
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


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[str, ...]:
    """The field names of the model found at ``loc`` from ``model`` (list indices skipped)."""
    for key in loc:
        if isinstance(key, int):
            continue
        field = model.model_fields.get(key)
        found = _model_in(field.annotation) if field is not None else None
        if found is None:
            return ()
        model = found
    return tuple(model.model_fields)


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The model an annotation holds: itself, or inside a tuple, list, dict or union."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if (found := _model_in(arg)) is not None:
            return found
    return None
