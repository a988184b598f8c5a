"""Read a FaultPlan from a JSON or YAML file (or standard input); errors name the file, line and field."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cli.validation_messages import describe_validation_error
from client import FaultPlan

__all__ = ["PlanFileError", "describe_validation_error", "load_plan", "parse_plan_text"]

_FIELDS_HINT = "service, api, fault_type, percentage, duration_seconds, delay_seconds or abort_http_status"


class PlanFileError(ValueError):
    """The plan file is unreadable, not JSON/YAML, or not a valid FaultPlan."""


def _yaml_problem(source: str, exc: yaml.YAMLError) -> str:
    """Return ``source, line L, column C: problem`` for a YAML syntax error (PyYAML counts from 0)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark is not None else source
    words = f"{problem} ({context})" if context else problem
    return f"{where}: not valid YAML: {words}"


def _json_problem(source: str, exc: json.JSONDecodeError) -> str:
    return f"{source}, line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}"


def _parse(text: str, source: str) -> Any:
    """Return the document in `text`: JSON (which a `.json` source must be), else YAML."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if source.lower().endswith(".json"):
            raise PlanFileError(_json_problem(source, exc)) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlanFileError(_yaml_problem(source, exc)) from exc


def parse_plan_text(text: str, *, source: str = "plan") -> FaultPlan:
    """Parse JSON or YAML text into a validated FaultPlan; errors name `source` and the line or field."""
    data = _parse(text, source)
    if data is None:
        raise PlanFileError(f"{source} is empty: write the plan's fields in it ({_FIELDS_HINT})")
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({str(data)[:40]})"
        raise PlanFileError(
            f"{source} must hold one mapping of plan fields ({_FIELDS_HINT}), but holds {kind}"
        )
    try:
        return FaultPlan.model_validate(data)
    except ValidationError as exc:
        raise PlanFileError(
            f"invalid plan in {source}:\n{describe_validation_error(exc, model=FaultPlan)}"
        ) from exc


def load_plan(path: str) -> FaultPlan:
    """Load a plan from `path`, or from standard input when `path` is '-'."""
    if path == "-":
        return parse_plan_text(sys.stdin.read(), source="standard input")
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanFileError(f"cannot read plan file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise PlanFileError(f"cannot read plan file {path}: not UTF-8 text ({exc.reason})") from exc
    return parse_plan_text(text, source=path)
