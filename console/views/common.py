"""Helpers shared by the console's views: the audit trail, 404 pages, paging links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

from memoryserver.redis import get_redis

from ..access import actor
from ..audit import AuditLog


def audit_log() -> AuditLog:
    return AuditLog(get_redis("working"))


def record(request: HttpRequest, action: str, target: str, **details: Any) -> None:
    """Note a write in the audit log: who, what, on which target, with which details."""
    audit_log().record(actor(request), action, target, details)


def not_found(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "console/404.html", {"message": message}, status=404)


@dataclass(frozen=True)
class Paging:
    offset: int
    limit: int
    total: int
    previous_query: str | None
    next_query: str | None

    @property
    def first(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.offset + self.limit, self.total)


def paging(query: QueryDict, offset: int, limit: int, total: int) -> Paging:
    """Links to the previous and next pages: the same query with another offset."""

    def with_offset(value: int) -> str:
        params = query.copy()
        params["offset"] = str(value)
        return params.urlencode()

    previous_query = with_offset(max(offset - limit, 0)) if offset > 0 else None
    next_query = with_offset(offset + limit) if offset + limit < total else None
    return Paging(offset, limit, total, previous_query, next_query)
