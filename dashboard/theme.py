"""Chart colours, fonts and layout for the light and the dark theme: the one place every Plotly figure uses.

A figure builder calls `style(fig)` last; it picks the theme the viewer's page shows (`st.context.theme`,
light when unknown, e.g. outside a Streamlit session). Call kinds are chromatic (colour-blind-safe
Okabe-Ito hues) and breaker states are neutral greys, so the two never share a colour. Text is the page's own
text colour, at least 4.5:1 against the chart background (WCAG AA; `contrast_ratio` computes it).

Example::

    fig = style(go.Figure(...), title="Executor health", height=320)
    colour = current_theme().calls[EventKind.FAILURE]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import plotly.graph_objects as go
import streamlit as st

from client.breaker import BreakerState
from client.events import EventKind
from client.hypothesis import Phase

FONT_FAMILY = '"Source Sans", "Source Sans Pro", sans-serif'  # Streamlit's own font, so charts match the page
FONT_SIZE_PX = 13
RUN_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
# A pattern per breaker state as well as a grey, so the strip reads without telling greys apart.
BREAKER_PATTERNS = {BreakerState.CLOSED: "", BreakerState.HALF_OPEN: "/", BreakerState.OPEN: ""}


@dataclass(frozen=True)
class ChartTheme:
    """The colours of one theme: background, text, grid, series, call kinds, breaker states and phases."""

    name: str
    background: str
    text: str
    grid: str
    axis_line: str
    error: str  # the error-rate line and unhealthy markers
    calls: Mapping[EventKind, str]
    breaker: Mapping[BreakerState, str]
    phases: Mapping[Phase, str]  # phase tints behind a run's chart
    run_tint: str  # a run's span on the Monitor's time axis
    fault_tint: str  # the fault's span inside it
    series: tuple[str, ...] = field(default=RUN_COLOURS)


LIGHT = ChartTheme(
    name="light",
    background="#ffffff",
    text="#2f2d2b",
    grid="#e6e6e6",
    axis_line="#8a8a8a",
    error="#c0392b",
    calls={
        EventKind.ATTEMPT: "#0072b2",
        EventKind.SUCCESS: "#009e73",
        EventKind.FAILURE: "#d55e00",
        EventKind.RETRY: "#e69f00",
        EventKind.REJECTED: "#cc79a7",
    },
    breaker={
        BreakerState.CLOSED: "#dedede",
        BreakerState.HALF_OPEN: "#a0a0a0",
        BreakerState.OPEN: "#4a4a4a",
    },
    phases={
        Phase.BASELINE: "rgba(0, 114, 178, 0.10)",
        Phase.FAULT: "rgba(213, 94, 0, 0.10)",
        Phase.RECOVERY: "rgba(0, 158, 115, 0.10)",
    },
    run_tint="rgba(120, 120, 120, 0.08)",
    fault_tint="rgba(120, 120, 120, 0.20)",
)
DARK = ChartTheme(
    name="dark",
    background="#171614",
    text="#edebe8",
    grid="#3a3936",
    axis_line="#8a8a8a",
    error="#ff7b6b",
    calls={
        EventKind.ATTEMPT: "#56b4e9",
        EventKind.SUCCESS: "#1fbf8f",
        EventKind.FAILURE: "#ff7f2a",
        EventKind.RETRY: "#f0c400",
        EventKind.REJECTED: "#e58fc0",
    },
    breaker={
        BreakerState.CLOSED: "#3d3d3d",
        BreakerState.HALF_OPEN: "#808080",
        BreakerState.OPEN: "#d6d6d6",
    },
    phases={
        Phase.BASELINE: "rgba(86, 180, 233, 0.14)",
        Phase.FAULT: "rgba(255, 127, 42, 0.14)",
        Phase.RECOVERY: "rgba(31, 191, 143, 0.14)",
    },
    run_tint="rgba(200, 200, 200, 0.08)",
    fault_tint="rgba(200, 200, 200, 0.18)",
)
THEMES = {"light": LIGHT, "dark": DARK}


def current_theme() -> ChartTheme:
    """Return the theme the viewer's page shows (`st.context.theme.type`); light when it is not known."""
    try:
        kind = st.context.theme.type
    except Exception:  # no Streamlit session (a script, a unit test): the light default
        kind = None
    return THEMES.get(str(kind), LIGHT)


def style(fig: go.Figure, *, title: str, height: int = 320, theme: ChartTheme | None = None) -> go.Figure:
    """Give `fig` its title, size, legend, fonts and the theme's colours on every axis; return it."""
    theme = theme or current_theme()
    font = {"family": FONT_FAMILY, "size": FONT_SIZE_PX, "color": theme.text}
    fig.update_layout(
        title={"text": title, "x": 0, "font": {**font, "size": 16}},
        height=height,
        margin={"l": 70, "r": 20, "t": 70, "b": 40},
        legend={
            "orientation": "h",
            "x": 1,
            "xanchor": "right",
            "y": 1.02,
            "yanchor": "bottom",
            "font": font,
            "bgcolor": "rgba(0, 0, 0, 0)",
        },
        hovermode="x unified",
        font=font,
        paper_bgcolor=theme.background,
        plot_bgcolor=theme.background,
        colorway=list(theme.series),
        hoverlabel={"bgcolor": theme.background, "font": font, "bordercolor": theme.axis_line},
    )
    axis = {
        "color": theme.text,
        "tickfont": font,
        "title_font": font,
        "gridcolor": theme.grid,
        "linecolor": theme.axis_line,
        "zerolinecolor": theme.grid,
    }
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    fig.update_annotations(font_family=FONT_FAMILY)
    return fig


def contrast_ratio(foreground: str, background: str) -> float:
    """Return the WCAG 2 contrast ratio of two `#rrggbb` colours (1 to 21; AA text asks for 4.5)."""
    lighter, darker = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def relative_luminance(colour: str) -> float:
    """Return the WCAG 2 relative luminance of a `#rrggbb` colour (0 black to 1 white)."""
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
