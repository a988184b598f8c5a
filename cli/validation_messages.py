"""Say a plan's validation errors in plain words, each naming its field: ``percentage: at most 100, got 150``.

Pydantic's own messages (``Input should be a valid integer, unable to parse string as an integer``,
``Value error, ...``, ``Extra inputs are not permitted``) are written for programmers; a plan file's author
wants the field, what it takes, and what it got.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

__all__ = ["describe_error", "describe_validation_error"]

_MAX_SHOWN = 40  # longest shown input; a longer one is cut with "..."

_KIND_WORDS = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text",
    "dict_type": "a mapping of fields",
    "model_type": "a mapping of fields",
    "model_attributes_type": "a mapping of fields",
    "list_type": "a list",
    "tuple_type": "a list",
}

_BOUND_WORDS = {
    "greater_than": ("more than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _number(value: Any) -> str:
    """Return a bound as a plan file writes it: ``0``, not ``0.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _got(error: ErrorDetails) -> str:
    value = error.get("input")
    if value is None:
        return ", got nothing" if "input" in error else ""
    if isinstance(value, Mapping):
        return ", got a mapping"
    if isinstance(value, list | tuple):
        return ", got a list"
    return f", got {_number(value) if isinstance(value, float) else _shown(value)}"


def _known_fields(model: type[BaseModel] | None, location: Sequence[int | str]) -> list[str]:
    """Return the fields the model (or the nested model at `location`) takes."""
    for part in location:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return []
        annotation = model.model_fields[part].annotation
        args = getattr(annotation, "__args__", None) or (annotation,)
        model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return sorted(model.model_fields) if model is not None else []


def describe_error(error: ErrorDetails, *, model: type[BaseModel] | None = None) -> str:
    """Return one problem as ``field: what it takes, got what`` (a model-wide check says its own field)."""
    location = [part for part in error.get("loc", ())]
    field = ".".join(str(part) for part in location)
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    if kind == "value_error":  # a model's own check: its message names the field ("delay_seconds is ...")
        message = str(context.get("error") or error.get("msg", "")).removeprefix("Value error, ")
        if message.startswith(f"{field}: "):
            return message
        if field:
            return f"{field}: {message}"
        named, _, rest = message.partition(" is ")  # "delay_seconds is required when ..." names its field
        return f"{named}: {rest}" if rest and named in _known_fields(model, []) else message
    if kind == "missing":
        what = "required, but missing"
    elif kind == "extra_forbidden":
        name = str(location[-1]) if location else field
        known = _known_fields(model, location[:-1])
        close = difflib.get_close_matches(name, known, n=1)
        parent = ".".join(str(part) for part in location[:-1])
        what = (f"not a field of {parent}" if parent else "not a plan field") + (
            f"; did you mean {close[0]}?" if close else ""
        )
        if known and not close:
            what += f"; the fields are {', '.join(known)}"
        return f"{field}: {what}"
    elif kind in _BOUND_WORDS:
        words, key = _BOUND_WORDS[kind]
        what = f"should be {words} {_number(context.get(key))}{_got(error)}"
    elif kind in ("enum", "literal_error"):
        what = f"should be one of {context.get('expected', '?')}{_got(error)}"
    elif kind in _KIND_WORDS:
        what = f"should be {_KIND_WORDS[kind]}{_got(error)}"
    elif kind in ("string_too_short", "too_short"):
        what = "must not be empty"
    else:
        what = str(error.get("msg", "invalid value")).replace("Input should be", "should be")
    return f"{field or 'plan'}: {what}"


def describe_validation_error(exc: ValidationError, *, model: type[BaseModel] | None = None) -> str:
    """Return one plain line per problem, each naming its field: ``percentage: at most 100, got 150``.

    `model` (the validated class) lets an unknown field be answered with the nearest known one.
    """
    return "\n".join(describe_error(error, model=model) for error in exc.errors())
