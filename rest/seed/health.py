"""Liveness: the server's clock, reachable without authentication."""

from __future__ import annotations

import time

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from pydantic import BaseModel
from rest_framework.request import Request

from rest.plumbing import ApiView, json_response


class Health(BaseModel):
    now: int


class HealthView(ApiView):
    """Liveness probe; needs no authentication."""

    public = True

    @extend_schema(summary="Health check: the current server time in epoch seconds", responses=Health)
    async def get(self, request: Request) -> HttpResponse:
        return json_response(Health(now=int(time.time())))
