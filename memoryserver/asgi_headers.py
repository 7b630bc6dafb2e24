"""Request headers read straight from an ASGI scope, as Django would read them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def header(scope: Mapping[str, Any], name: bytes) -> str | None:
    """The header `name` (lower case); one sent several times is joined with commas, as Django
    joins it (so two Authorization headers make one invalid token, never a choice of two)."""
    values = [value.decode("latin-1") for key, value in scope.get("headers", ()) if key.lower() == name]
    return ",".join(values) if values else None
