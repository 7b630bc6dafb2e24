"""Bulk delete of the memories a filter matches: the count first (a dry run), then a confirm step."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from longterm_app.schemas import MemoryFilters, SearchRequest

from .. import memories
from ..access import admin_principal, staff_view
from ..forms import BulkDeleteForm, SearchForm
from .common import record

# Parameters that do not select memories: not carried into the confirm step.
NOT_FILTERS = (
    "offset",
    "limit",
    "text",
    "search_mode",
    "distance_threshold",
    "hybrid_alpha",
    "recency_boost",
)


def filter_summary(request: SearchRequest) -> dict[str, Any]:
    """The filters that are set, as the API would receive them."""
    return request.model_dump(include=set(MemoryFilters.model_fields), exclude_none=True)


def _filter_params(data: QueryDict) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, values in data.lists()
        if name not in (*NOT_FILTERS, "expected", "csrfmiddlewaretoken")
        for value in values
        if value
    ]


def _page(request: HttpRequest, form: SearchForm, status: int = 200, **extra: Any) -> HttpResponse:
    params = _filter_params(request.POST if request.method == "POST" else request.GET)
    query = QueryDict(mutable=True)
    for name, value in params:
        query.appendlist(name, value)
    context = {
        "form": form,
        "params": params,
        "search_url": f"{reverse('console:memories')}?{query.urlencode()}",
    }
    return render(request, "console/memories/bulk_delete.html", context | extra, status=status)


@staff_view
@require_http_methods(["GET", "POST"])
def bulk_delete(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    form = SearchForm(data)
    if not form.is_valid() or form.search_request is None:
        return _page(request, form, status=400)
    if not form.has_filters():
        return _page(request, form, status=400, no_filters=True)
    filters = form.search_request
    matched = memories.count(filters)
    summary = filter_summary(filters)
    if request.method == "GET":
        return _page(request, form, matched=matched, summary=summary)
    confirm = BulkDeleteForm(request.POST)
    expected = confirm.cleaned_data["expected"] if confirm.is_valid() else None
    if expected != matched:
        messages.warning(request, f"The filters now match {matched} memories, not {expected}: confirm again.")
        return _page(request, form, status=409, matched=matched, summary=summary)
    deleted = memories.bulk_delete(admin_principal(request), filters, most=matched)
    record(
        request,
        "memory.bulk_delete",
        "memories matching filters",
        filters=summary,
        matched=matched,
        deleted=deleted,
    )
    messages.success(request, f"Deleted {deleted} of the {matched} memories the filters matched.")
    query = QueryDict(mutable=True)
    for name, value in _filter_params(request.POST):
        query.appendlist(name, value)
    return redirect(f"{reverse('console:memories')}?{query.urlencode()}")
