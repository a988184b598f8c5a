"""Plan files on disk for the CLI tests."""

from __future__ import annotations

import json
from pathlib import Path


def write_plan(tmp_path: Path, plan: dict[str, object], name: str = "plan.json") -> Path:
    """Write `plan` as JSON to `tmp_path/name` and return its path."""
    path = tmp_path / name
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path
