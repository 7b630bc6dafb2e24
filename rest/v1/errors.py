"""Errors of the /v1 routes in upstream's shapes.

Validation failures (422) carry `detail` as upstream's list of `{"loc", "msg", "type"}`
(its HTTPValidationError); every other error keeps `detail` as a message, as upstream's do.
Our `status_code` and `errors` stay alongside, so one client handles both APIs.
"""

from __future__ import annotations

from typing import Any

from memoryserver.errors import FieldProblem, InvalidInput, MalformedBody
from memoryserver.fields import ascii_digits
from rest.errors import Translated, translate

# A list index in a field path; longer runs of digits are keys (a JSON object's "999...").
_MAX_INDEX_DIGITS = 9


def _location(field: str) -> list[str | int]:
    parts = field.split(".")
    return [_index_or_key(part) for part in parts if part] or ["body"]


def _index_or_key(part: str) -> str | int:
    return int(part) if ascii_digits(part) and len(part) <= _MAX_INDEX_DIGITS else part


def validation_detail(problems: list[FieldProblem]) -> list[dict[str, Any]]:
    return [{"loc": _location(p.field), "msg": p.message, "type": "value_error"} for p in problems]


def translate_v1(exc: Exception) -> Translated | None:
    translated = translate(exc)
    if translated is not None and isinstance(exc, InvalidInput) and not isinstance(exc, MalformedBody):
        status, body, headers = translated
        return status, {**body, "detail": validation_detail(exc.problems)}, headers
    return translated
