"""GET /metrics: Prometheus metrics. Needs a token like every endpoint unless METRICS_PUBLIC=true."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request

from memoryserver.observability.metrics import CONTENT_TYPE, get_metrics
from rest.plumbing import ApiView


class MetricsView(ApiView):
    """Prometheus text exposition: this process's metrics and the queue and usage figures in Redis."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Read per request, so the setting can change without re-importing the URLconf.
        self.public = bool(settings.METRICS_PUBLIC)

    @extend_schema(
        summary="Prometheus metrics (text exposition format); needs memory:read unless METRICS_PUBLIC",
        responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR)},
    )
    async def get(self, request: Request) -> HttpResponse:
        # Collecting reads Redis with the sync client: off the event loop.
        body = await sync_to_async(get_metrics().render, thread_sensitive=False)()
        return HttpResponse(body, content_type=CONTENT_TYPE)
