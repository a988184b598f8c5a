"""Emoji code points: what needs an emoji font to show (a fresh headless Chromium has none).

Shared by the source scan (tests/dashboard/test_icons.py) and the browser walk (tests/e2e/test_theme.py).
Arrows, math signs and geometric shapes are left out: text fonts draw them.
"""

from __future__ import annotations

EMOJI_RANGES = (
    (0x1F000, 0x1FAFF),  # mahjong, cards, enclosed supplements, flags, pictographs, emoticons, transport...
    (0x2600, 0x27BF),  # miscellaneous symbols and dingbats (☀ ✅ ❌ ⚠ ⛔)
    (0x2B00, 0x2BFF),  # ⬛ ⭐ ⭕
    (0x231A, 0x231B),  # ⌚ ⌛
    (0x23E9, 0x23FA),  # ⏩ ⏳ ⏹ ⏺
    (0xFE0F, 0xFE0F),  # the emoji presentation selector
    (0x200D, 0x200D),  # zero-width joiner of emoji sequences
    (0x20E3, 0x20E3),  # keycap
)


def is_emoji(char: str) -> bool:
    """Return whether `char` is an emoji code point (or part of an emoji sequence)."""
    code = ord(char)
    return any(low <= code <= high for low, high in EMOJI_RANGES)


def emoji_in(text: str) -> list[str]:
    """Return the emoji code points of `text`, in order, as `U+XXXX 'c'` strings."""
    return [f"U+{ord(char):04X} {char!r}" for char in text if is_emoji(char)]
