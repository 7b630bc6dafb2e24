"""Template filters of the console. None marks its output safe: Django escapes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django import template

register = template.Library()


@register.filter
def epoch(value: float | None) -> str:
    """Epoch seconds as a UTC date-time."""
    if value is None or value == "":
        return "—"
    return datetime.fromtimestamp(float(value), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@register.filter
def duration(seconds: int | None) -> str:
    """Seconds as `1d 2h 3m 4s`."""
    if seconds is None:
        return "—"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    if seconds or not parts:
        parts.append(f"{seconds}s")
    return " ".join(parts)
