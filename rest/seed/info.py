"""GET /info: which features are on, the embedding model, queue depths and model token use."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from pydantic import BaseModel
from rest_framework.request import Request

from memoryserver.queues import queue_depths
from providers.embeddings import get_embedder
from providers.features import Feature, feature_status
from providers.llm import usage_totals
from rest.plumbing import ApiView, json_response


class Info(BaseModel):
    embedding_model: str
    features: dict[str, Feature]
    queues: dict[str, int]
    failed_jobs: dict[str, int]
    llm_usage: dict[str, dict[str, int]]


def _info() -> Info:
    depths = queue_depths()
    return Info(
        embedding_model=get_embedder().identity,
        features=feature_status(),
        queues={name: waiting for name, (waiting, _) in depths.items()},
        failed_jobs={name: failed for name, (_, failed) in depths.items()},
        llm_usage=usage_totals(),
    )


class InfoView(ApiView):
    """What this server can do right now; needs the read scope."""

    @extend_schema(summary="Features, embedding model, queue depths and model token use", responses=Info)
    async def get(self, request: Request) -> HttpResponse:
        return json_response(await sync_to_async(_info, thread_sensitive=False)())
