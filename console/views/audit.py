"""The audit log of console writes, newest first, paged by entry id."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..access import staff_view
from ..audit import is_entry_id
from .common import audit_log

PAGE_SIZE = 50


@staff_view
@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    before = request.GET.get("before") or None
    if before is not None and not is_entry_id(before):
        return render(request, "console/audit.html", {"bad_cursor": before}, status=400)
    log = audit_log()
    entries = log.page(before, PAGE_SIZE + 1)
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    context = {
        "entries": entries,
        "total": log.total(),
        "before": before,
        "next_before": entries[-1].id if more else None,
    }
    return render(request, "console/audit.html", context)
