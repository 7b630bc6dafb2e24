"""Long-term memories: search with every filter, read one, edit it (re-embedded), delete it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from longterm_app.records import MemoryRecord
from memoryserver.errors import Conflict, InvalidInput, NotFound

from .. import memories
from ..access import admin_principal, staff_view
from ..forms import MemoryEditForm, SearchForm
from .common import not_found, paging, record

# What the audit log keeps of a changed text, before and after.
AUDIT_TEXT_CHARS = 500


@staff_view
@require_GET
def memory_search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    context: dict[str, Any] = {"form": form}
    if not form.is_valid() or form.search_request is None:
        return render(request, "console/memories/search.html", context, status=400)
    search = form.search_request
    result = memories.search(search)
    context |= {
        "result": result,
        "paging": paging(request.GET, search.offset, search.limit, result.total),
        "has_filters": form.has_filters(),
        "query": request.GET.urlencode(),
    }
    return render(request, "console/memories/search.html", context)


@staff_view
@require_GET
def topic_list(request: HttpRequest) -> HttpResponse:
    """A namespace's topics with their counts; each links to the memories that carry it."""
    namespace = request.GET.get("namespace", "").strip()
    context: dict[str, Any] = {"namespace": namespace}
    if namespace:
        counts = memories.topics(admin_principal(request), namespace)
        context["topics"] = [
            (topic, count, urlencode({"namespace": namespace, "topics": topic})) for topic, count in counts
        ]
    return render(request, "console/memories/topics.html", context)


def _owner(request: HttpRequest) -> str | None:
    """The memory's user, from `?user_id=` (ids are unique per namespace and user)."""
    return request.GET.get("user_id") or None


def _record(request: HttpRequest, namespace: str, memory_id: str) -> MemoryRecord | HttpResponse:
    """The memory, or the page saying why there is none to show."""
    try:
        return memories.get(admin_principal(request), namespace, memory_id, _owner(request))
    except (NotFound, InvalidInput):
        return not_found(request, f"No memory '{memory_id}' in namespace '{namespace}'.")
    except Conflict as error:  # several users use the id and the link named none
        return not_found(request, error.detail)


def _detail_url(namespace: str, memory_id: str, user_id: str | None) -> str:
    url = reverse("console:memory-detail", args=[namespace, memory_id])
    return url + "?" + urlencode({"user_id": user_id}) if user_id else url


def _target(namespace: str, memory_id: str) -> str:
    return f"memory '{memory_id}' in namespace '{namespace}'"


@staff_view
@require_GET
def memory_detail(request: HttpRequest, namespace: str, memory_id: str) -> HttpResponse:
    found = _record(request, namespace, memory_id)
    if isinstance(found, HttpResponse):
        return found
    return render(request, "console/memories/detail.html", {"memory": found})


def _audit_changes(before: MemoryRecord, changed: dict[str, Any]) -> dict[str, Any]:
    def shown(value: Any) -> Any:
        return value[:AUDIT_TEXT_CHARS] if isinstance(value, str) else value

    return {
        name: {"from": shown(getattr(before, name)), "to": shown(value)} for name, value in changed.items()
    }


@staff_view
@require_http_methods(["GET", "POST"])
def memory_edit(request: HttpRequest, namespace: str, memory_id: str) -> HttpResponse:
    found = _record(request, namespace, memory_id)
    if isinstance(found, HttpResponse):
        return found
    if request.method == "GET":
        return render(request, "console/memories/edit.html", {"memory": found, "form": MemoryEditForm(found)})
    form = MemoryEditForm(found, request.POST)
    if form.is_valid() and form.patch is not None:
        changed = form.patch.model_dump(exclude_unset=True)
        if not changed:
            messages.info(request, "Nothing changed.")
            return redirect(_detail_url(namespace, memory_id, found.user_id))
        try:
            edited = memories.edit(admin_principal(request), namespace, memory_id, form.patch, found.user_id)
        except (Conflict, InvalidInput) as error:
            form.add_error(None, error.detail)
        else:
            record(
                request, "memory.edit", _target(namespace, memory_id), changes=_audit_changes(found, changed)
            )
            messages.success(request, f"Saved {_target(namespace, memory_id)}.")
            return redirect(_detail_url(namespace, memory_id, edited.user_id))
    return render(request, "console/memories/edit.html", {"memory": found, "form": form}, status=400)


@staff_view
@require_http_methods(["GET", "POST"])
def memory_delete(request: HttpRequest, namespace: str, memory_id: str) -> HttpResponse:
    found = _record(request, namespace, memory_id)
    if isinstance(found, HttpResponse):
        return found
    if request.method == "GET":
        return render(request, "console/memories/delete.html", {"memory": found})
    deleted = memories.delete(admin_principal(request), namespace, memory_id, found.user_id)
    if deleted:
        record(request, "memory.delete", _target(namespace, memory_id), text=found.text[:AUDIT_TEXT_CHARS])
        messages.success(request, f"Deleted {_target(namespace, memory_id)}.")
    else:
        messages.warning(request, f"Nothing to delete: {_target(namespace, memory_id)} was already gone.")
    return redirect(reverse("console:memories") + "?" + urlencode({"namespace": namespace}))
