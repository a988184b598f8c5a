"""Package boundaries that DESIGN.md fixes, and the rooms of ``executor/``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "client": {
        *("streamlit", "storage", "services", "dashboard", "executor", "sqlmodel", "sqlalchemy"),
        "optuna",  # campaigns (services/) own the search; the client library stays free of it
    },
    "storage": {"streamlit", "services", "dashboard"},
    "executor": {"client", "streamlit", "storage", "services", "dashboard"},
    "services": {"streamlit", "dashboard"},
}
UI_FORBIDDEN = {"httpx", "tenacity", "sqlmodel", "sqlalchemy", "aiohttp"}

# The rooms of executor/ and the other rooms each may import, lowest first. A room imports nothing of the
# executor's top level (runtime, server, settings, startup_errors), which assembles the rooms.
EXECUTOR_ROOMS: dict[str, set[str]] = {
    "model": set(),
    "spec": {"model"},
    "dataplane": {"model"},
    "lifecycle": {"model", "spec", "dataplane"},
    "control": {"model", "spec", "dataplane", "lifecycle"},
}
EXECUTOR_TOP = {"__init__", "runtime", "server", "settings", "startup_errors"}
PACKAGES = ["client", "executor", "storage", "services", "cli", "dashboard"]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def _imported_roots(path: Path) -> set[str]:
    return {module.split(".")[0] for module in _imported_modules(path)}


def _executor_parts(path: Path) -> set[str]:
    """Return the executor rooms (or ``top``) that ``path`` imports."""
    parts = set()
    for module in _imported_modules(path):
        names = module.split(".")
        if names[0] == "executor":
            parts.add(names[1] if len(names) > 1 and names[1] in EXECUTOR_ROOMS else "top")
    return parts


def _room_offenders(root: Path) -> list[str]:
    offenders = []
    for room, allowed in sorted(EXECUTOR_ROOMS.items()):
        for path in sorted((root / "executor" / room).rglob("*.py")):
            bad = _executor_parts(path) - allowed - {room}
            if bad:
                offenders.append(f"{path.relative_to(root)} imports executor's {sorted(bad)}")
    return offenders


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_boundaries(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imported_roots(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


def test_pages_are_ui_only() -> None:
    offenders = []
    for path in [ROOT / "Home.py", *sorted((ROOT / "pages").glob("*.py"))]:
        bad = _imported_roots(path) & UI_FORBIDDEN
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


def test_executor_rooms_import_only_the_rooms_below_them() -> None:
    assert _room_offenders(ROOT) == []


def test_the_room_check_catches_a_room_importing_a_higher_one(tmp_path: Path) -> None:
    for room in EXECUTOR_ROOMS:
        (tmp_path / "executor" / room).mkdir(parents=True)
    executor = tmp_path / "executor"
    (executor / "model" / "bad.py").write_text("from executor.dataplane.proxy import FaultProxy\n")
    (executor / "spec" / "worse.py").write_text("import executor.runtime\n")
    (executor / "control" / "fine.py").write_text("from executor.lifecycle import loadgen\n")
    assert _room_offenders(tmp_path) == [
        "executor/model/bad.py imports executor's ['dataplane']",
        "executor/spec/worse.py imports executor's ['top']",
    ]


def test_every_executor_module_is_in_a_room_or_at_the_top() -> None:
    stray = []
    for path in sorted((ROOT / "executor").rglob("*.py")):
        parts = path.relative_to(ROOT / "executor").parts
        in_room = len(parts) == 2 and parts[0] in EXECUTOR_ROOMS
        if not in_room and not (len(parts) == 1 and path.stem in EXECUTOR_TOP):
            stray.append(str(path.relative_to(ROOT)))
    assert stray == []


def test_executor_module_names_are_unique_in_the_tree() -> None:
    elsewhere: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.stem != "__init__":
                elsewhere.setdefault(path.stem, []).append(str(path.relative_to(ROOT)))
    clashes = {name: paths for name, paths in elsewhere.items() if len(paths) > 1}
    executor_clashes = {
        name: paths for name, paths in clashes.items() if any(p.startswith("executor/") for p in paths)
    }
    assert executor_clashes == {}
