"""Icons are Material Symbols, never emoji: no source the console shows or prints holds an emoji."""

from __future__ import annotations

from pathlib import Path

from tests.emoji import emoji_in, is_emoji

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("Home.py", "pages", "dashboard", "services", "client", "storage", "cli", ".streamlit")


def _files() -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")) + sorted(path.rglob("*.toml")))
    return files


def test_the_emoji_test_knows_emoji_from_text_symbols() -> None:
    assert all(is_emoji(char) for char in "🚀📈🗂✅❌⚠⏳⏹🛡🔎🟢\ufe0f")
    assert not any(is_emoji(char) for char in "→–·×≤≥%°µ…")  # arrows, dashes and signs are text


def test_no_source_shown_by_the_console_holds_an_emoji() -> None:
    files = _files()
    assert len(files) > 50  # the scan reads the packages, not an empty list
    found = {
        f"{path.relative_to(ROOT)}:{number}": emoji_in(line)
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if emoji_in(line)
    }
    assert found == {}, f"use :material/...: icons instead of emoji: {found}"


def test_pages_use_material_icons() -> None:
    pages = [ROOT / "Home.py", *sorted((ROOT / "pages").glob("*.py"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert 'icon=":material/' in text, f"{page.name} sets no Material page icon"
