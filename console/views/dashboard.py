"""The dashboard: counts per namespace, the index, the queues, the models."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import status
from ..access import staff_view


@staff_view
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "console/dashboard.html", status.dashboard())
