"""What every dashboard page sets up first: its tab title and Material icon, and the accessibility CSS.

Icons are Streamlit's Material Symbols (`:material/name:`), which Streamlit ships as a web font: nothing
depends on an emoji font being installed (a fresh headless Chromium has none).
"""

from __future__ import annotations

import streamlit as st

# Streamlit gives every heading a "Link to heading" anchor, one extra tab stop per heading for keyboard users.
# Hidden (display: none also takes it out of the tab order); headings keep their ids.
ACCESSIBILITY_CSS = """
[data-testid="stHeaderActionElements"] a[href^="#"] { display: none; }
"""


def set_page(title: str, *, icon: str) -> None:
    """Set the page's tab title and Material icon (wide layout) and add the console's accessibility CSS."""
    st.set_page_config(page_title=title, page_icon=icon, layout="wide")
    st.html(f"<style>{ACCESSIBILITY_CSS}</style>")  # style only: Streamlit adds it without taking up space
