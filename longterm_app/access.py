"""Tenant isolation for long-term memory: confine records and filters to the caller's tenants.

A caller bound to namespaces or a user (token claims or token settings) can neither write
nor read outside them: named tenants are checked (403), and a search that names none is
narrowed to the caller's own, never widened.
"""

from __future__ import annotations

from typing import TypeVar

from longterm_app.records import MemoryRecord
from longterm_app.schemas import MemoryFilters, TagFilter
from memoryserver.auth.principal import Principal
from memoryserver.errors import NotFound

Filters = TypeVar("Filters", bound=MemoryFilters)


def scoped_record(record: MemoryRecord, principal: Principal) -> MemoryRecord:
    """Fill and check a record's namespace and user for this caller."""
    if record.namespace:
        principal.check_namespace(record.namespace)
    else:
        record.namespace = principal.default_namespace()
    record.user_id = principal.check_user(record.user_id)
    return record


def _named(condition: TagFilter) -> list[str]:
    return [v for v in (condition.eq, *(condition.any or []), *(condition.all or [])) if v is not None]


def _confined(condition: TagFilter | None, allowed: list[str], check: object) -> TagFilter:
    if condition is None:
        return TagFilter(any=allowed)
    for value in _named(condition):
        check(value)  # type: ignore[operator]
    if condition.eq is None and condition.any is None:
        return condition.model_copy(update={"any": allowed})
    return condition


def scoped_filters(filters: Filters, principal: Principal) -> Filters:
    """The filters narrowed to the caller's namespaces and user."""
    update: dict[str, TagFilter] = {}
    if principal.namespaces is not None:
        update["namespace"] = _confined(
            filters.namespace, sorted(principal.namespaces), principal.check_namespace
        )
    if principal.user_id is not None:
        update["user_id"] = _confined(filters.user_id, [principal.user_id], principal.check_user)
    return filters.model_copy(update=update) if update else filters


def check_owner(record: MemoryRecord, principal: Principal) -> MemoryRecord:
    """Another user's memory looks missing to a caller bound to one user."""
    if principal.user_id is not None and record.user_id != principal.user_id:
        raise NotFound(f"No memory '{record.id}' in namespace '{record.namespace}'.")
    return record
