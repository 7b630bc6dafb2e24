"""/v1 long-term memory: create, search, get, edit, delete, forget, compact.

Upstream's memory ids are global, so a call that names no namespace finds the memory in
whichever namespace the caller may read holds it (`?namespace=` narrows it to one).
"""

from __future__ import annotations

from typing import ClassVar

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request

from longterm_app import services
from longterm_app.query_rewrite import optimized
from longterm_app.repository import memory_store
from longterm_app.schemas import CompactRequest, CreateMemoriesRequest, PolicyForgetRequest
from longterm_app.tasks import BACKGROUND, schedule_compaction
from memoryserver.auth.principal import ADMIN, READ, Scope
from memoryserver.errors import InvalidInput
from memoryserver.validation import parse
from providers.embeddings import get_embedder
from rest.parameters import query_parameters
from rest.plumbing import (
    ApiCall,
    call_of,
    json_response,
    parse_body,
    parse_json,
    parse_params,
    parse_query,
    principal_of,
)
from rest.v1.params import CompactParams, ForgetParams, NamespaceParams, OptimizeParams
from rest.v1.views.base import V1View, listed, respond
from upstream.convert import memory_records, record_v1, refuse_pinned, results_v1
from upstream.schemas import (
    AckResponse,
    CompactAck,
    CreateMemoryRecordRequest,
    EditMemoryRecordRequest,
    ForgetBody,
    ForgetResponse,
    MemoryRecordResultsResponse,
    MemoryRecordV1,
    SearchRequestV1,
)
from upstream.search import v1_search_request


class MemoryCreateView(V1View):
    """Create long-term memories: POST /v1/long-term-memory/ (and without the slash, below)."""

    @extend_schema(
        operation_id="create_long_term_memory_v1_long_term_memory__post",
        summary="Create long-term memories",
        request=CreateMemoryRecordRequest,
        responses=AckResponse,
    )
    async def post(self, request: Request) -> HttpResponse:
        body = parse_body(request, CreateMemoryRecordRequest)
        records = memory_records(body.memories, "semantic", "t")
        if records:
            create = parse(CreateMemoriesRequest, {"memories": records})
            await services.create_memories(
                memory_store(), get_embedder(), principal_of(request), create, BACKGROUND
            )
        return json_response(AckResponse(status="ok"))


class MemoryCollectionView(MemoryCreateView):
    """/v1/long-term-memory: DELETE by ids, and POST as upstream's clients also send it."""

    @extend_schema(
        operation_id="create_long_term_memory_v1_long_term_memory_post",
        summary="Create long-term memories (the same as POST /v1/long-term-memory/)",
        request=CreateMemoryRecordRequest,
        responses=AckResponse,
    )
    async def post(self, request: Request) -> HttpResponse:
        return await super().post(request)

    @extend_schema(
        operation_id="delete_long_term_memory_v1_long_term_memory_delete",
        summary="Delete long-term memories by id",
        parameters=[OpenApiParameter("memory_ids", str, many=True), *query_parameters(NamespaceParams)],
        responses={200: AckResponse},
    )
    async def delete(self, request: Request) -> HttpResponse:
        ids = listed(request, "memory_ids")
        params = parse_query(request, NamespaceParams)
        principal = principal_of(request)
        store = memory_store()
        deleted = 0
        if ids and params.namespace is not None:
            deleted = (
                await services.delete_memories(store, principal, params.namespace, ids, params.user_id)
            ).deleted
        elif ids:
            deleted = (await services.delete_memories_by_id(store, principal, ids, params.user_id)).deleted
        return json_response(AckResponse(status=f"ok, deleted {deleted} memories"))


async def search_memories(call: ApiCall) -> HttpResponse:
    """POST /v1/long-term-memory/search (a hot route: see rest.hot)."""
    optimize = parse_params(call, OptimizeParams).optimize_query
    search = v1_search_request(parse_json(call.body, SearchRequestV1))
    warning = None
    if optimize:
        search, warning = await optimized(search)
    result = await services.search_memories(memory_store(), get_embedder(), call.principal, search)
    return respond(results_v1(result, search.text, search.search_mode), warning)


class MemorySearchView(V1View):
    method_scopes: ClassVar[dict[str, Scope]] = {"post": READ}

    @extend_schema(
        operation_id="search_long_term_memory_v1_long_term_memory_search_post",
        parameters=query_parameters(OptimizeParams),
        summary="Search long-term memories (semantic, keyword or hybrid) with filters",
        request=SearchRequestV1,
        responses=MemoryRecordResultsResponse,
    )
    async def post(self, request: Request) -> HttpResponse:
        return await search_memories(call_of(request))


class MemoryDetailView(V1View):
    @extend_schema(
        operation_id="get_long_term_memory_v1_long_term_memory__memory_id__get",
        parameters=query_parameters(NamespaceParams),
        summary="Get a long-term memory",
        responses=MemoryRecordV1,
    )
    async def get(self, request: Request, memory_id: str) -> HttpResponse:
        params = parse_query(request, NamespaceParams)
        principal = principal_of(request)
        record = await services.locate_memory(
            memory_store(), principal, params.namespace, memory_id, params.user_id
        )
        return json_response(record_v1(record))

    @extend_schema(
        operation_id="update_long_term_memory_v1_long_term_memory__memory_id__patch",
        summary="Edit a long-term memory; null fields are left as they are",
        request=EditMemoryRecordRequest,
        responses=MemoryRecordV1,
    )
    async def patch(self, request: Request, memory_id: str) -> HttpResponse:
        params = parse_query(request, NamespaceParams)
        body = parse_body(request, EditMemoryRecordRequest)
        refuse_pinned("pinned", body.pinned)
        changes = body.model_dump(exclude_none=True, exclude={"pinned", "namespace"})
        if not changes and body.namespace is None:
            raise InvalidInput("body", "no fields to update")
        where = (params.namespace, params.user_id)
        edited = await services.edit_located_memory(
            memory_store(), get_embedder(), principal_of(request), where, memory_id, changes, body.namespace
        )
        return json_response(record_v1(edited))


class MemoryForgetView(V1View):
    """Delete what a retention policy selects; `dry_run` only reports it (default false, see README)."""

    method_scopes: ClassVar[dict[str, Scope]] = {"post": ADMIN}

    @extend_schema(
        operation_id="forget_endpoint_v1_long_term_memory_forget_post",
        parameters=query_parameters(ForgetParams),
        summary="Forget memories by policy",
        request=ForgetBody,
        responses=ForgetResponse,
    )
    async def post(self, request: Request) -> HttpResponse:
        params = parse_query(request, ForgetParams)
        body = parse_body(request, ForgetBody)
        payload = {**params.model_dump(), "policy": body.policy, "pinned_ids": body.pinned_ids or []}
        forget = parse(PolicyForgetRequest, payload)
        result = await services.forget_by_policy(memory_store(), principal_of(request), forget)
        return json_response(ForgetResponse(**result.model_dump()))


class MemoryCompactView(V1View):
    """Queue a compaction run: exact duplicates merge, near duplicates merge by the chat model."""

    method_scopes: ClassVar[dict[str, Scope]] = {"post": ADMIN}

    @extend_schema(
        operation_id="compact_long_term_memories_endpoint_v1_long_term_memory_compact_post",
        parameters=query_parameters(CompactParams),
        request=None,
        summary="Compact long-term memories",
        responses=CompactAck,
    )
    async def post(self, request: Request) -> HttpResponse:
        params = parse_query(request, CompactParams)
        compact = CompactRequest(namespace=params.namespace, user_id=params.user_id)
        queued = await services.queue_compaction(principal_of(request), compact, schedule_compaction)
        status = f"ok, compaction queued as task {queued.task_id}"
        return json_response(CompactAck(status=status, task_id=queued.task_id))
