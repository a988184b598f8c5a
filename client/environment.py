"""The one place settings are read from ``BOIFI_*`` environment variables.

Settings are plain frozen models: constructing one never looks at the environment. A caller that wants the
environment says so, through `load_settings` (or a model's ``from_env``, which calls it), and a bad value is
reported under the variable it came from::

    SettingsError: invalid settings: BOIFI_MAX_RETRIES: Input should be a valid integer, ..., got 'abc'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from client.redaction import redact_url

PREFIX = "BOIFI_"

Model = TypeVar("Model", bound=BaseModel)


class SettingsError(ValueError):
    """Settings that do not validate; each problem names its environment variable, or its field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings: " + "; ".join(problems))
        self.problems = tuple(problems)


def variables_of(
    model: type[BaseModel], aliases: Mapping[str, tuple[str, ...]] | None = None
) -> dict[str, str]:
    """Return every environment variable `model` reads, mapped to its field (aliases first, in order)."""
    names: dict[str, str] = {}
    for field in model.model_fields:
        for variable in (aliases or {}).get(field, (PREFIX + field.upper(),)):
            names[variable] = field
    return names


def load_settings(
    model: type[Model],
    *,
    environ: Mapping[str, str] | None = None,
    aliases: Mapping[str, tuple[str, ...]] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Model:
    """Build `model` from ``BOIFI_<FIELD>`` variables of `environ` (default: the process's), then `overrides`.

    Names match case-insensitively. `aliases` replaces a field's variable names, the first set one winning.
    Unknown ``BOIFI_*`` variables are ignored (several models share the prefix).
    """
    env = os.environ if environ is None else environ
    upper = {key.upper(): value for key, value in env.items()}
    data: dict[str, Any] = {}
    source: dict[str, str] = {}
    for variable, field in variables_of(model, aliases).items():
        if field not in data and variable in upper:
            data[field], source[field] = upper[variable], variable
    for field in overrides or {}:
        source.pop(field, None)
    data.update(overrides or {})
    try:
        return model(**data)
    except ValidationError as exc:
        raise SettingsError([_describe(error, model, source) for error in exc.errors()]) from exc


def _describe(error: Any, model: type[BaseModel], source: Mapping[str, str]) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    field = loc[0] if loc else ""
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if field not in source:
        return f"{'.'.join(loc) or model.__name__}: {message}"
    info = model.model_fields.get(field)
    secret = info is not None and SecretStr in _types_of(info.annotation)
    value = error.get("input")
    shown = redact_url(value) if isinstance(value, str) else value  # a URL's password is never echoed
    got = "" if secret else f", got {shown!r}"
    return f"{source[field]}: {message}{got}"


def _types_of(annotation: Any) -> tuple[Any, ...]:
    return (annotation, *getattr(annotation, "__args__", ()))
