"""REST views of long-term memory: parse, call the service, render."""

from __future__ import annotations

from typing import ClassVar

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request

from longterm_app import services
from longterm_app.records import MemoryRecord
from longterm_app.repository import memory_store
from longterm_app.schemas import (
    CompactQueued,
    CompactRequest,
    CreateMemoriesRequest,
    CreateMemoriesResult,
    DeleteMemoriesResult,
    ForgetRequest,
    ForgetResult,
    MemoryPatch,
    SearchRequest,
    SearchResult,
)
from longterm_app.tasks import BACKGROUND, schedule_compaction
from memoryserver.auth.principal import ADMIN, READ, Scope
from memoryserver.errors import InvalidInput
from memoryserver.fields import IDENTIFIER_PATTERN, IDENTIFIER_SCHEMA, check_identifier
from providers.embeddings import get_embedder
from rest.plumbing import ApiCall, ApiView, call_of, json_response, parse_body, parse_json, principal_of

ID = IDENTIFIER_PATTERN.pattern
NAMESPACE = OpenApiParameter(
    "namespace", IDENTIFIER_SCHEMA, description="Namespace of the memory (default: DEFAULT_NAMESPACE)."
)
USER_ID = OpenApiParameter(
    "user_id",
    IDENTIFIER_SCHEMA,
    description="Owner of the memory: ids are unique per namespace and user. A caller bound to a user "
    "addresses its own memories; others need it only when several users use the id (409).",
)


def _identifier(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return check_identifier(value)
    except ValueError as error:
        raise InvalidInput(name, str(error)) from None


def _namespace(request: Request) -> str | None:
    return _identifier(request, "namespace")


def _user_id(request: Request) -> str | None:
    return _identifier(request, "user_id")


async def create_memories(call: ApiCall) -> HttpResponse:
    """POST /long-term-memory (a hot route: see rest.hot)."""
    body = parse_json(call.body, CreateMemoriesRequest)
    result = await services.create_memories(memory_store(), get_embedder(), call.principal, body, BACKGROUND)
    return json_response(result, status=202 if result.status == "queued" else 200)


async def search_memories(call: ApiCall) -> HttpResponse:
    """POST /long-term-memory/search (a hot route: see rest.hot)."""
    body = parse_json(call.body, SearchRequest)
    result = await services.search_memories(memory_store(), get_embedder(), call.principal, body)
    return json_response(result)


class MemoryCollectionView(ApiView):
    """Create long-term memories directly (up to 1000 a call), or delete some by id."""

    @extend_schema(
        summary="Create long-term memories",
        request=CreateMemoriesRequest,
        responses={200: CreateMemoriesResult, 202: CreateMemoriesResult},
    )
    async def post(self, request: Request) -> HttpResponse:
        return await create_memories(call_of(request))

    @extend_schema(
        summary="Delete long-term memories by id",
        parameters=[
            NAMESPACE,
            USER_ID,
            OpenApiParameter(
                "memory_ids",
                {"type": "string", "pattern": f"^{ID}(,{ID})*$"},
                required=True,
                description="Ids, comma-separated (or the parameter repeated).",
            ),
        ],
        responses={200: DeleteMemoriesResult},
    )
    async def delete(self, request: Request) -> HttpResponse:
        ids = [
            part for value in request.query_params.getlist("memory_ids") for part in value.split(",") if part
        ]
        if not ids:
            raise InvalidInput("memory_ids", "name at least one memory id")
        result = await services.delete_memories(
            memory_store(), principal_of(request), _namespace(request), ids, _user_id(request)
        )
        return json_response(result)


class MemorySearchView(ApiView):
    """Search long-term memories: semantic, keyword (BM25) or hybrid, with filters on every field."""

    method_scopes: ClassVar[dict[str, Scope]] = {"post": READ}

    @extend_schema(summary="Search long-term memories", request=SearchRequest, responses=SearchResult)
    async def post(self, request: Request) -> HttpResponse:
        return await search_memories(call_of(request))


class MemoryForgetView(ApiView):
    """Delete every memory of a namespace, user or session; `dry_run` (the default) only counts."""

    method_scopes: ClassVar[dict[str, Scope]] = {"post": ADMIN}

    @extend_schema(
        summary="Forget a namespace, user or session", request=ForgetRequest, responses=ForgetResult
    )
    async def post(self, request: Request) -> HttpResponse:
        body = parse_body(request, ForgetRequest)
        return json_response(await services.forget(memory_store(), principal_of(request), body))


class MemoryCompactView(ApiView):
    """Queue a compaction run: exact duplicates merge, near duplicates merge by the chat model."""

    method_scopes: ClassVar[dict[str, Scope]] = {"post": ADMIN}

    @extend_schema(
        summary="Compact long-term memories", request=CompactRequest, responses={202: CompactQueued}
    )
    async def post(self, request: Request) -> HttpResponse:
        body = parse_body(request, CompactRequest)
        queued = await services.queue_compaction(principal_of(request), body, schedule_compaction)
        return json_response(queued, status=202)


class MemoryDetailView(ApiView):
    """One long-term memory: read it or edit it."""

    @extend_schema(summary="Get a long-term memory", parameters=[NAMESPACE, USER_ID], responses=MemoryRecord)
    async def get(self, request: Request, memory_id: str) -> HttpResponse:
        record = await services.get_memory(
            memory_store(), principal_of(request), _namespace(request), memory_id, _user_id(request)
        )
        return json_response(record)

    @extend_schema(
        summary="Edit a long-term memory",
        parameters=[NAMESPACE, USER_ID],
        request=MemoryPatch,
        responses=MemoryRecord,
    )
    async def patch(self, request: Request, memory_id: str) -> HttpResponse:
        body = parse_body(request, MemoryPatch)
        if not body.model_fields_set:  # as /v1: an edit that changes nothing is a client's mistake
            raise InvalidInput("body", "no fields to update")
        record = await services.edit_memory(
            memory_store(),
            get_embedder(),
            principal_of(request),
            _namespace(request),
            memory_id,
            body,
            _user_id(request),
        )
        return json_response(record)
