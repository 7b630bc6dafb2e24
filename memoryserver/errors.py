"""Domain errors raised by services; each transport translates them in one place.

MemoryServerError
├── InvalidInput(field, problem)   -> 422 (one or more field problems)
│   └── MalformedBody              -> 400 (the body is not valid JSON)
├── PayloadTooLarge                -> 413
├── NotFound                       -> 404
├── Conflict                       -> 409
├── PreconditionFailed             -> 412 (If-Match names a version that is no longer current)
├── FeatureDisabled                -> 501 (needs a model or package that is not configured)
└── BackendUnavailable             -> 503 (Redis or a model API cannot be reached), Retry-After if known
    └── IndexRebuilding            -> 503 (longterm_app.index: the search index is still being filled)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REDIS_DOWN = "The memory store (Redis) is unavailable. Try again shortly."


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class MemoryServerError(Exception):
    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def problems(self) -> list[FieldProblem]:
        return []


class InvalidInput(MemoryServerError):
    status_code = 422

    def __init__(self, field: str, problem: str, *more: FieldProblem) -> None:
        self._problems = [FieldProblem(field, problem), *more]
        first = self._problems[0]
        summary = f"{first.field}: {first.message}" if first.field else first.message
        if more:
            summary += f" (and {len(more)} more)"
        super().__init__(summary)

    @classmethod
    def from_problems(cls, problems: list[FieldProblem]) -> InvalidInput:
        first, *rest = problems
        return cls(first.field, first.message, *rest)

    @property
    def problems(self) -> list[FieldProblem]:
        return self._problems

    def renamed(self, names: Mapping[str, str]) -> InvalidInput:
        """The same problems, each field named as the caller knows it (`names`: ours to theirs)."""
        return InvalidInput.from_problems(
            [FieldProblem(names.get(p.field, p.field), p.message) for p in self._problems]
        )

    def under(self, prefix: str) -> InvalidInput:
        """The same problems with their fields inside `prefix` (a nested object's path)."""
        return InvalidInput.from_problems(
            [FieldProblem(f"{prefix}.{p.field}" if p.field else prefix, p.message) for p in self._problems]
        )


class MalformedBody(InvalidInput):
    status_code = 400


class Unauthenticated(MemoryServerError):
    status_code = 401


class Forbidden(MemoryServerError):
    status_code = 403


class PayloadTooLarge(MemoryServerError):
    status_code = 413


class NotFound(MemoryServerError):
    status_code = 404


class Conflict(MemoryServerError):
    status_code = 409


class PreconditionFailed(MemoryServerError):
    status_code = 412


class FeatureDisabled(MemoryServerError):
    status_code = 501


class BackendUnavailable(MemoryServerError):
    status_code = 503

    def __init__(self, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        # Seconds after which a retry should succeed, when known (HTTP Retry-After).
        self.retry_after = retry_after


def error_body(status_code: int, detail: str, problems: list[FieldProblem] | None = None) -> dict[str, Any]:
    """The JSON error document every transport answers with: detail, status_code and, for
    bad input, one {field, message} per problem."""
    body: dict[str, Any] = {"detail": detail, "status_code": status_code}
    if problems:
        body["errors"] = [{"field": p.field, "message": p.message} for p in problems]
    return body
