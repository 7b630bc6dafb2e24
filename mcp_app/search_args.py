"""The flat search arguments of the upstream tools, as the REST search's SearchRequest."""

from __future__ import annotations

from collections.abc import Mapping

from longterm_app.schemas import SearchRequest
from mcp_app.errors import parse
from mcp_app.filters import TagFilterArg, TimeFilterArg, filter_payload

Filters = Mapping[str, TagFilterArg | TimeFilterArg | None]


def search_request(
    text: str | None, search_mode: str, filters: Filters, options: Mapping[str, object]
) -> SearchRequest:
    """Options left null take the REST search's defaults."""
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
