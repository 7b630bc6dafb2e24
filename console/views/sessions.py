"""Sessions (working memory): list by namespace, read one whole, delete with confirmation."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods
from pydantic import ValidationError

from memoryserver.errors import InvalidInput
from memoryserver.fields import now
from memoryserver.redis import get_redis
from sessions_app import services
from sessions_app.repository import read_snapshot, remaining_ttl
from sessions_app.schemas import SessionKey, SessionScope, WorkingMemory

from ..access import admin_principal, staff_view
from ..forms import SessionFilterForm
from ..runner import with_session_store
from .common import not_found, paging, record


@staff_view
@require_GET
def session_list(request: HttpRequest) -> HttpResponse:
    form = SessionFilterForm(request.GET)
    context: dict[str, object] = {"form": form}
    if form.is_valid():
        data = form.cleaned_data
        keys, total = with_session_store(
            lambda store: store.list_keys(
                data["namespace"], data["user_id"], data["offset"], data["limit"], now()
            )
        )
        context |= {"sessions": keys, "paging": paging(request.GET, data["offset"], data["limit"], total)}
    return render(request, "console/sessions/list.html", context, status=200 if form.is_valid() else 400)


def _key(request: HttpRequest, namespace: str, session_id: str) -> SessionKey | None:
    """The session the URL names, checked as the API checks it; None if the names are invalid."""
    try:
        scope = SessionScope(namespace=namespace, user_id=request.GET.get("user_id") or None)
        return services.session_key(session_id, scope, admin_principal(request))
    except (ValidationError, InvalidInput):
        return None


def _describe(key: SessionKey) -> str:
    owner = f" of user '{key.user_id}'" if key.user_id else ""
    return f"session '{key.session_id}' in namespace '{key.namespace}'{owner}"


def _detail_url(key: SessionKey) -> str:
    url = reverse("console:session-detail", args=[key.namespace, key.session_id])
    return url + _user_query(key)


def _user_query(key: SessionKey) -> str:
    return "?" + urlencode({"user_id": key.user_id}) if key.user_id else ""


@staff_view
@require_GET
def session_detail(request: HttpRequest, namespace: str, session_id: str) -> HttpResponse:
    key = _key(request, namespace, session_id)
    client = get_redis("working")
    # A snapshot: looking at a session in the console does not mark it accessed.
    document = read_snapshot(client, key) if key else None
    if key is None or document is None:
        return not_found(request, f"No working memory for session '{session_id}' in namespace '{namespace}'.")
    memory = WorkingMemory.model_validate_json(document)
    context = {
        "key": key,
        "memory": memory,
        "remaining_ttl": remaining_ttl(client, key),
        "data_json": json.dumps(memory.data, indent=2, ensure_ascii=False) if memory.data else None,
        "delete_url": reverse("console:session-delete", args=[key.namespace, key.session_id]),
        "user_query": _user_query(key),
    }
    return render(request, "console/sessions/detail.html", context)


@staff_view
@require_http_methods(["GET", "POST"])
def session_delete(request: HttpRequest, namespace: str, session_id: str) -> HttpResponse:
    key = _key(request, namespace, session_id)
    if key is None or read_snapshot(get_redis("working"), key) is None:
        return not_found(request, f"No working memory for session '{session_id}' in namespace '{namespace}'.")
    if request.method == "GET":
        context = {"key": key, "description": _describe(key), "detail_url": _detail_url(key)}
        return render(request, "console/sessions/delete.html", context)
    scope = SessionScope(namespace=key.namespace, user_id=key.user_id)
    principal = admin_principal(request)
    deleted = with_session_store(
        lambda store: services.delete_working_memory(store, principal, key.session_id, scope)
    )
    if deleted:
        record(request, "session.delete", _describe(key), **vars(key))
        messages.success(request, f"Deleted {_describe(key)}.")
    else:
        messages.warning(request, f"Nothing to delete: {_describe(key)} was already gone.")
    return redirect(reverse("console:sessions") + "?" + urlencode({"namespace": key.namespace}))
