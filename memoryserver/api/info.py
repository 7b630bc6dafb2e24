"""GET /info: which features are on, the embedding model, queue depths and model token use."""

from __future__ import annotations

import django_rq
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from pydantic import BaseModel
from rest_framework.request import Request

from memoryserver.api.views import ApiView, json_response
from memoryserver.embeddings import get_embedder
from memoryserver.features import Feature, feature_status
from memoryserver.llm import usage_totals
from memoryserver.redis import get_redis


class Info(BaseModel):
    embedding_model: str
    features: dict[str, Feature]
    queues: dict[str, int]
    failed_jobs: dict[str, int]
    llm_usage: dict[str, dict[str, int]]


def _info() -> Info:
    connection = get_redis()
    queues = {name: django_rq.get_queue(name, connection=connection) for name in settings.TASK_QUEUES}
    return Info(
        embedding_model=get_embedder().identity,
        features=feature_status(),
        queues={name: queue.count for name, queue in queues.items()},
        failed_jobs={name: queue.failed_job_registry.count for name, queue in queues.items()},
        llm_usage=usage_totals(),
    )


class InfoView(ApiView):
    """What this server can do right now; needs the read scope."""

    @extend_schema(summary="Features, embedding model, queue depths and model token use", responses=Info)
    async def get(self, request: Request) -> HttpResponse:
        return json_response(await sync_to_async(_info, thread_sensitive=False)())
