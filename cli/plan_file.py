"""Read a FaultPlan from a JSON or YAML file (or standard input) with errors that name the field."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from client import FaultPlan


class PlanFileError(ValueError):
    """The plan file is unreadable, not JSON/YAML, or not a valid FaultPlan."""


def describe_validation_error(exc: ValidationError) -> str:
    """Return one line per problem, each naming the field: `percentage: Input should be ...`."""
    lines = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ())) or "plan"
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        # A model's own check may name its field already ("hypothesis: give max_p99_ms, ..."): once is enough.
        lines.append(message if message.startswith(f"{location}: ") else f"{location}: {message}")
    return "\n".join(lines)


def parse_plan_text(text: str, *, source: str = "plan") -> FaultPlan:
    """Parse JSON or YAML text into a validated FaultPlan."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PlanFileError(f"{source} is neither JSON nor YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PlanFileError(f"{source} must hold one mapping of FaultPlan fields, got {type(data).__name__}")
    try:
        return FaultPlan.model_validate(data)
    except ValidationError as exc:
        raise PlanFileError(f"invalid plan in {source}:\n{describe_validation_error(exc)}") from exc


def load_plan(path: str) -> FaultPlan:
    """Load a plan from `path`, or from standard input when `path` is '-'."""
    if path == "-":
        return parse_plan_text(sys.stdin.read(), source="standard input")
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanFileError(f"cannot read plan file {path}: {exc.strerror or exc}") from exc
    return parse_plan_text(text, source=path)
