"""/v1 search requests as the long-term search's SearchRequest.

Tag filters accept both vocabularies: the API's eq, ne, any, all, startswith and the
published client's in_, not_eq, not_in, none. Time filters are the MCP tools' converters
(ISO-8601 or epoch seconds, `inclusive` for between). Options left null take upstream's
defaults: hybrid_alpha 0.7 and recency re-ranking on.
"""

from __future__ import annotations

from typing import Any

from longterm_app.schemas import SearchRequest
from mcp_app.errors import parse
from mcp_app.filters import TimeFilterArg
from mcp_app.search_args import effective_recency_boost
from memoryserver.errors import InvalidInput
from v1_api.schemas import SearchRequestV1, TagFilterV1

TAG_FIELDS = ("session_id", "namespace", "topics", "entities", "user_id", "memory_type", "memory_hash")
TIME_FIELDS = ("created_at", "last_accessed", "updated_at", "event_date")
RECENCY_OPTIONS = (
    "recency_semantic_weight",
    "recency_recency_weight",
    "recency_freshness_weight",
    "recency_novelty_weight",
    "recency_half_life_last_access_days",
    "recency_half_life_created_days",
)


def _joined(*lists: list[str] | None) -> list[str] | None:
    values = [value for values in lists if values for value in values]
    return list(dict.fromkeys(values)) or None


def tag_operators(name: str, condition: TagFilterV1) -> dict[str, Any]:
    """One field's conditions in the search's own operators (eq, ne, any, all, none, startswith)."""
    if condition.field is not None and condition.field != name:
        raise InvalidInput(
            f"{name}.field", f"is '{condition.field}' but this filter is for '{name}'; omit it"
        )
    ne = [value for value in (condition.ne, condition.not_eq) if value is not None]
    operators: dict[str, Any] = {
        "eq": condition.eq,
        "ne": ne[0] if len(ne) == 1 else None,
        "any": _joined(condition.any, condition.in_),
        "all": condition.all,
        "none": _joined(condition.none, condition.not_in, ne if len(ne) > 1 else None),
        "startswith": condition.startswith,
    }
    return {op: value for op, value in operators.items() if value is not None}


def filter_payload(request: SearchRequestV1) -> dict[str, dict[str, Any]]:
    """The request's filters in the search's shape; a filter without a condition is dropped."""
    payload: dict[str, dict[str, Any]] = {}
    for name in TAG_FIELDS:
        tag: TagFilterV1 | None = getattr(request, name)
        if tag is not None and (operators := tag_operators(name, tag)):
            payload[name] = operators
    for name in TIME_FIELDS:
        moment: TimeFilterArg | None = getattr(request, name)
        if moment is not None and (operators := moment.operators(name)):
            payload[name] = operators
    return payload


def search_request(request: SearchRequestV1, **overrides: Any) -> SearchRequest:
    """The long-term search for a /v1 request; `overrides` replace payload entries (e.g. text)."""
    recency = effective_recency_boost(request.recency_boost, request.server_side_recency)
    payload: dict[str, Any] = {
        "text": request.text or "",
        "search_mode": request.search_mode,
        "hybrid_alpha": request.hybrid_alpha,
        "distance_threshold": request.distance_threshold,
        "limit": request.limit,
        "offset": request.offset,
        "recency_boost": True if recency is None else recency,
        **{name: value for name in RECENCY_OPTIONS if (value := getattr(request, name)) is not None},
        **filter_payload(request),
        **overrides,
    }
    return parse(SearchRequest, payload)
