"""Upstream search requests as the long-term search's SearchRequest: a /v1 search body,
or the flat arguments of the MCP search tools.

/v1 tag filters accept both vocabularies: the API's eq, ne, any, all, startswith and the
published client's in_, not_eq, not_in, none. Time filters take ISO-8601 or epoch seconds
and `inclusive` for between. /v1 options left null take upstream's defaults (hybrid_alpha
0.7, recency re-ranking on); the tools' options left null take the REST search's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from longterm_app.schemas import SearchRequest
from memoryserver.validation import parse
from upstream.filters import FilterArg, filter_payload
from upstream.schemas import SearchRequestV1

Filters = Mapping[str, FilterArg | None]

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


def v1_filter_payload(request: SearchRequestV1) -> dict[str, dict[str, Any]]:
    """The request's filters in the search's shape; a filter without a condition is dropped."""
    return filter_payload({name: getattr(request, name) for name in (*TAG_FIELDS, *TIME_FIELDS)})


def v1_search_request(request: SearchRequestV1, **overrides: Any) -> SearchRequest:
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
        **v1_filter_payload(request),
        **overrides,
    }
    return parse(SearchRequest, payload)


def tool_search_request(
    text: str | None, search_mode: str, filters: Filters, options: Mapping[str, object]
) -> SearchRequest:
    """The MCP search tools' flat arguments; options left null take the REST search's defaults."""
    payload = {
        "text": text or "",
        "search_mode": search_mode,
        **filter_payload(filters),
        **{name: value for name, value in options.items() if value is not None},
    }
    return parse(SearchRequest, payload)


def effective_recency_boost(recency_boost: bool | None, server_side_recency: bool | None) -> bool | None:
    """Upstream has two switches for one feature; the explicit recency_boost wins."""
    return recency_boost if recency_boost is not None else server_side_recency
