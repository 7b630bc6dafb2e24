"""Small SVG charts for the console, drawn on the server: no JavaScript, nothing fetched.

Pure functions from numbers to markup. Every text they place (titles, labels, series names;
namespaces are user input) is escaped here, so the result is marked safe. Each chart is an
`<svg role="img">` with a `<title>` and a `<desc>` listing its figures for screen readers,
and a `<title>` on every bar and point, which browsers show as a tooltip.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

from django.utils.safestring import SafeString, mark_safe

WIDTH = 480
TEXT = "#1d2330"
MUTED = "#5f6b7a"
AXIS = "#b8c0cc"
GRID = "#e6e9ee"
PALETTE = ("#2456c7", "#e07b00", "#7a3fc2")
ALERT = "#b42318"

# Horizontal bars: label column, bars, room for the value after the longest bar.
LABEL_WIDTH = 165
VALUE_WIDTH = 70
BAR_HEIGHT = 12
BAR_GAP = 2
GROUP_GAP = 10
LEGEND_HEIGHT = 20
MAX_LABEL_CHARS = 26

# Time charts: y-axis labels on the left, x-axis labels below.
TIME_HEIGHT = 140
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 8, 20

_CHART_ID = re.compile(r"[a-z][a-z0-9-]*")
Scale = Callable[[float], float]  # a value to its y coordinate


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # None: no value (no bar, a gap in a line)
    colour: str = PALETTE[0]


def bar_chart(
    chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], unit: str = ""
) -> SafeString:
    """Horizontal bars, one row per label and one bar per series in it, on one linear scale."""
    _check(chart_id, len(labels), series)
    scale = max((value for s in series for value in s.values if value), default=0) or 1
    group = len(series) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    top = LEGEND_HEIGHT if len(series) > 1 else 2
    height = top + len(labels) * (group + GROUP_GAP)
    parts = _legend(series) if len(series) > 1 else []
    for row, label in enumerate(labels):
        y = top + row * (group + GROUP_GAP)
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + group / 2 + 4:.1f}" text-anchor="end" fill="{TEXT}">'
            f"<title>{escape(label)}</title>{escape(_shorten(label))}</text>"
        )
        for index, s in enumerate(series):
            value, bar_y = s.values[row], y + index * (BAR_HEIGHT + BAR_GAP)
            if value is not None:
                parts.append(_bar(f"{label}, {s.name}", value, s.colour, bar_y, scale, unit))
    parts.append(_line(LABEL_WIDTH, top, LABEL_WIDTH, height - GROUP_GAP + 2, AXIS))
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{s.name} {_number(s.values[row], unit)}" for s in series)
        for row, label in enumerate(labels)
    )
    return _svg(chart_id, title, desc, height, parts)


def _bar(name: str, value: float, colour: str, y: float, scale: float, unit: str) -> str:
    """One horizontal bar with its value after it; a value above zero gets at least a pixel."""
    width = max(value / scale * (WIDTH - LABEL_WIDTH - VALUE_WIDTH), 1.0 if value > 0 else 0.0)
    shown = _number(value, unit)
    return (
        f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
        f'fill="{escape(colour)}"><title>{escape(f"{name}: {shown}")}</title></rect>'
        f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + BAR_HEIGHT - 2}" fill="{MUTED}">'
        f"{escape(shown)}</text>"
    )


def time_chart(
    chart_id: str,
    title: str,
    series: Series,
    x_labels: tuple[str, str, str],
    style: Literal["line", "columns"] = "line",
    unit: str = "",
) -> SafeString:
    """Values at equal steps in time, oldest first: a line (gaps where a value is None) or columns.
    `x_labels` name the first step, the middle and the last."""
    _check(chart_id, len(series.values), [series])
    known = [value for value in series.values if value is not None]
    top = _nice(max(known, default=0))
    plot_h = TIME_HEIGHT - TOP - BOTTOM

    def y_of(value: float) -> float:
        return TOP + plot_h - value / top * plot_h

    draw = _columns if style == "columns" else _lines
    parts = _axes(top, y_of, x_labels, unit) + draw(
        series, (WIDTH - LEFT - RIGHT) / len(series.values), y_of, unit
    )
    last = _number(known[-1], unit) if known else "none"
    highest = _number(max(known, default=0), unit)
    desc = f"{series.name}, {x_labels[0]} to {x_labels[2]}: highest {highest}, last {last}."
    return _svg(chart_id, title, desc, TIME_HEIGHT, parts)


def _axes(top: float, y_of: Scale, x_labels: tuple[str, str, str], unit: str) -> list[str]:
    """The x axis with its three labels, and a grid line at the top of the y axis; 0 and top labelled."""
    right = WIDTH - RIGHT
    parts = [_line(LEFT, y_of(top), right, y_of(top), GRID), _line(LEFT, y_of(0), right, y_of(0), AXIS)]
    for value in (0, top):
        parts.append(
            f'<text x="{LEFT - 4}" y="{y_of(value) + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{escape(_number(value, unit))}</text>"
        )
    for x, anchor, text in zip(
        (LEFT, (LEFT + right) / 2, right), ("start", "middle", "end"), x_labels, strict=True
    ):
        parts.append(
            f'<text x="{x:.1f}" y="{TIME_HEIGHT - 6}" text-anchor="{anchor}" fill="{MUTED}">'
            f"{escape(text)}</text>"
        )
    return parts


def _columns(series: Series, slot: float, y_of: Scale, unit: str) -> list[str]:
    parts = []
    for index, value in enumerate(series.values):
        if not value:
            continue
        x, y = LEFT + index * slot + slot * 0.1, y_of(value)
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" '
            f'height="{y_of(0) - y:.1f}" fill="{escape(series.colour)}">'
            f"<title>{escape(f'{series.name}: {_number(value, unit)}')}</title></rect>"
        )
    return parts


def _lines(series: Series, slot: float, y_of: Scale, unit: str) -> list[str]:
    """A polyline (with a light area below) per run of known values; a dot for a lone value."""
    parts = []
    colour = escape(series.colour)
    for run in _runs(series.values):
        points = [(LEFT + (index + 0.5) * slot, y_of(value)) for index, value in run]
        if len(points) == 1:
            (x, y), value = points[0], run[0][1]
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(f'{series.name}: {_number(value, unit)}')}</title></circle>"
            )
            continue
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        base = y_of(0)
        area = f"{points[0][0]:.1f},{base:.1f} {line} {points[-1][0]:.1f},{base:.1f}"
        parts.append(f'<polygon points="{area}" fill="{colour}" fill-opacity="0.18"/>')
        parts.append(
            f'<polyline class="line" points="{line}" fill="none" stroke="{colour}" stroke-width="2">'
            f"<title>{escape(f'{series.name}: last {_number(run[-1][1], unit)}')}</title></polyline>"
        )
    return parts


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Consecutive known values, with their positions."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for index, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((index, value))
    if current:
        runs.append(current)
    return runs


def _legend(series: Sequence[Series]) -> list[str]:
    parts, x = [], LABEL_WIDTH
    for s in series:
        parts.append(
            f'<rect x="{x}" y="3" width="10" height="10" fill="{escape(s.colour)}"/>'
            f'<text x="{x + 14}" y="12" fill="{TEXT}">{escape(s.name)}</text>'
        )
        x += 24 + 7 * len(s.name)
    return parts


def _svg(chart_id: str, title: str, desc: str, height: float, parts: list[str]) -> SafeString:
    body = "".join(parts)
    # Safe: every text placed in `parts` and here went through escape().
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" class="chart-svg" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}" height="{height:.0f}" font-family="system-ui, sans-serif" font-size="11">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _line(x1: float, y1: float, x2: float, y2: float, colour: str) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" stroke-width="1"/>'
    )


def _check(chart_id: str, length: int, series: Sequence[Series]) -> None:
    if not _CHART_ID.fullmatch(chart_id):
        raise ValueError(f"Chart id '{chart_id}' is not lower-case letters, digits and dashes.")
    if not series or length == 0:
        raise ValueError(f"Chart '{chart_id}' has nothing to draw: give it values (or show an empty state).")
    for s in series:
        if len(s.values) != length:
            raise ValueError(
                f"Series '{s.name}' of chart '{chart_id}' has {len(s.values)} values, not {length}."
            )


def _shorten(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def _nice(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at least `value` (1 for nothing): the top of a y axis."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        text = "—"
    elif float(value).is_integer():
        text = f"{int(value):,}"
    else:
        text = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    return f"{text} {unit}" if unit and value is not None else text
