"""ASGI entry point: `uvicorn server.asgi:application`."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "memoryserver.settings")

from channels.routing import ProtocolTypeRouter
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

from memoryserver.observability.tracing import traced
from server.api_handler import ApiASGIHandler, PathRouter
from server.body_limit import BodySizeLimit
from server.lifespan import Lifespan

django_application = get_asgi_application()

application = Lifespan(
    ProtocolTypeRouter(
        {
            # traced() is the app itself unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
            "http": traced(
                BodySizeLimit(
                    PathRouter(ApiASGIHandler(), ASGIStaticFilesHandler(django_application)),
                    settings.MAX_REQUEST_BODY_BYTES,
                    settings.CONFIG.request_body_timeout_seconds,
                )
            ),
        }
    )
)
