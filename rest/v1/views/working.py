"""/v1 health, working memory, memory prompt and tasks."""

from __future__ import annotations

import time
from typing import ClassVar

from asgiref.sync import sync_to_async
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from longterm_app.repository import memory_store
from longterm_app.schemas import SearchRequest
from memoryserver.auth.principal import READ, Scope
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
from rest.seed.sessions import IF_MATCH, IF_MATCH_DELETE, STALE
from rest.v1.params import (
    GetWorkingMemoryParams,
    OptimizeParams,
    PutWorkingMemoryParams,
    SessionListParams,
    SessionScopeParams,
)
from rest.v1.views.base import V1View, respond
from sessions_app import services
from sessions_app.prompt import memory_prompt, optimized_search
from sessions_app.repository import working_store
from sessions_app.schemas import MAX_MESSAGES, SessionListQuery, SessionScope, WindowQuery, WorkingMemory
from sessions_app.tasks import BACKGROUND
from sessions_app.windows import message_budget
from upstream.convert import append_input, hit_v1, working_memory_input, working_memory_v1
from upstream.prompt import prompt_request
from upstream.schemas import (
    AckResponse,
    AppendMessagesV1,
    HealthCheckResponse,
    MemoryPromptRequestV1,
    MemoryPromptResponseV1,
    SessionListResponse,
    TaskV1,
    UpdateWorkingMemory,
    WorkingMemoryResponse,
)
from upstream.task_status import task_state_v1
from upstream.windows import DEFAULT_CONTEXT_WINDOW, ClientWindow, client_window, context_percentages


def _answer(memory: WorkingMemory, query: WindowQuery, window: ClientWindow) -> HttpResponse:
    """The upstream shape, with the context percentages when the client named its window."""
    percentages = (
        context_percentages(memory.messages, memory.context, message_budget(query))
        if window.given
        else (None, None)
    )
    response = respond(working_memory_v1(memory, percentages), window.warning)
    response["ETag"] = f'"{memory.version}"'
    return response


def _put_query(params: PutWorkingMemoryParams, window: ClientWindow) -> WindowQuery:
    """Upstream summarises by tokens only, against a default window when no model is named."""
    budget_tokens = window.context_window_max or (None if window.model_name else DEFAULT_CONTEXT_WINDOW)
    return WindowQuery(
        namespace=params.namespace,
        user_id=params.user_id,
        window_size=MAX_MESSAGES,
        model_name=window.model_name,
        context_window_max=budget_tokens,
    )


async def get_working_memory(call: ApiCall, session_id: str) -> HttpResponse:
    """GET /v1/working-memory/{session_id} (a hot route: see rest.hot)."""
    params = parse_params(call, GetWorkingMemoryParams)
    window = client_window(params.model_name, params.context_window_max)
    query = WindowQuery(
        namespace=params.namespace,
        user_id=params.user_id,
        window_size=params.recent_messages_limit or MAX_MESSAGES,
        model_name=window.model_name,
        context_window_max=window.context_window_max,
    )
    memory = await services.get_working_memory(working_store(), call.principal, session_id, query)
    return _answer(memory, query, window)


async def put_working_memory(call: ApiCall, session_id: str) -> HttpResponse:
    """PUT /v1/working-memory/{session_id} (a hot route: see rest.hot)."""
    params = parse_params(call, PutWorkingMemoryParams)
    body = working_memory_input(parse_json(call.body, UpdateWorkingMemory))
    window = client_window(params.model_name, params.context_window_max)
    query = _put_query(params, window)
    if_match = services.parse_if_match(call.if_match)
    memory = await services.put_working_memory(
        working_store(), call.principal, session_id, body, query, BACKGROUND, if_match
    )
    return _answer(memory, query, window)


class HealthView(V1View):
    """Liveness probe; needs no authentication."""

    public = True

    @extend_schema(
        operation_id="get_health_v1_health_get",
        summary="Health check: the server time in epoch milliseconds",
        responses=HealthCheckResponse,
    )
    async def get(self, request: Request) -> HttpResponse:
        return json_response(HealthCheckResponse(now=int(time.time() * 1000)))


class SessionListView(V1View):
    @extend_schema(
        operation_id="list_sessions_v1_working_memory__get",
        parameters=query_parameters(SessionListParams),
        summary="List sessions, most recently updated first",
        responses=SessionListResponse,
    )
    async def get(self, request: Request) -> HttpResponse:
        params = parse_query(request, SessionListParams)
        query = SessionListQuery.model_validate(params.model_dump())
        sessions, total = await services.list_sessions(working_store(), principal_of(request), query)
        return json_response(SessionListResponse(sessions=sessions, total=total))


class SessionListAlias(SessionListView):
    """/v1/working-memory without the trailing slash (undocumented: one path per operation)."""

    @extend_schema(exclude=True)
    async def get(self, request: Request) -> HttpResponse:
        return await super().get(request)


class WorkingMemoryView(V1View):
    """A session's working memory; a session that does not exist is a 404."""

    @extend_schema(
        operation_id="get_working_memory_v1_working_memory__session_id__get",
        parameters=query_parameters(GetWorkingMemoryParams),
        summary="Get a session's working memory",
        responses=WorkingMemoryResponse,
    )
    async def get(self, request: Request, session_id: str) -> HttpResponse:
        return await get_working_memory(call_of(request), session_id)

    @extend_schema(
        operation_id="put_working_memory_v1_working_memory__session_id__put",
        parameters=[*query_parameters(PutWorkingMemoryParams), IF_MATCH],
        summary="Replace a session's working memory",
        request=UpdateWorkingMemory,
        responses={200: WorkingMemoryResponse, **STALE},
    )
    async def put(self, request: Request, session_id: str) -> HttpResponse:
        return await put_working_memory(call_of(request), session_id)

    @extend_schema(
        operation_id="delete_working_memory_v1_working_memory__session_id__delete",
        parameters=[*query_parameters(SessionScopeParams), IF_MATCH_DELETE],
        summary="Delete a session's working memory",
        responses={200: AckResponse, **STALE},
    )
    async def delete(self, request: Request, session_id: str) -> HttpResponse:
        params = parse_query(request, SessionScopeParams)
        scope = SessionScope(namespace=params.namespace, user_id=params.user_id)
        if_match = services.parse_if_match(request.headers.get("If-Match"))
        await services.delete_working_memory(
            working_store(), principal_of(request), session_id, scope, if_match
        )
        return json_response(AckResponse(status="ok"))


class MessagesView(V1View):
    """This server's addition to the upstream API: an atomic append."""

    @extend_schema(
        operation_id="append_messages_v1_working_memory__session_id__messages_post",
        parameters=query_parameters(PutWorkingMemoryParams),
        summary="Append messages to a session's working memory (atomic)",
        description="Adds the messages to the end of the session in one step, creating it if "
        "needed, so concurrent appends lose nothing (a GET then PUT can lose another client's "
        "messages). Messages whose id the session already holds are skipped.",
        request=AppendMessagesV1,
        responses=WorkingMemoryResponse,
    )
    async def post(self, request: Request, session_id: str) -> HttpResponse:
        services.refuse_if_match_on_append(request.headers.get("If-Match"))
        params = parse_query(request, PutWorkingMemoryParams)
        body = append_input(parse_body(request, AppendMessagesV1))
        window = client_window(params.model_name, params.context_window_max)
        query = _put_query(params, window)
        memory = await services.append_messages(
            working_store(), principal_of(request), session_id, body, query, BACKGROUND
        )
        return _answer(memory, query, window)


class MemoryPromptView(V1View):
    """The query hydrated with the session's history and relevant long-term memories."""

    method_scopes: ClassVar[dict[str, Scope]] = {"post": READ}

    @extend_schema(
        operation_id="memory_prompt_v1_memory_prompt_post",
        parameters=query_parameters(OptimizeParams),
        summary="Build an LLM prompt from a query, a session and long-term memories",
        request=MemoryPromptRequestV1,
        responses=MemoryPromptResponseV1,
    )
    async def post(self, request: Request) -> HttpResponse:
        optimize = parse_query(request, OptimizeParams).optimize_query
        ours, warning = prompt_request(parse_body(request, MemoryPromptRequestV1))
        if optimize:
            ours, skipped = await optimized_search(ours)
            warning = warning or skipped
        result = await memory_prompt(
            working_store(), memory_store(), get_embedder(), principal_of(request), ours
        )
        search = ours.long_term_search
        mode = search.search_mode if isinstance(search, SearchRequest) else None
        memories = [hit_v1(hit, mode) for hit in result.long_term_memories]
        return respond(
            MemoryPromptResponseV1(messages=result.messages, long_term_memories=memories or None), warning
        )


class TaskView(V1View):
    @extend_schema(
        operation_id="get_task_status_v1_tasks__task_id__get",
        summary="Get a background task's status",
        responses=TaskV1,
    )
    async def get(self, request: Request, task_id: str) -> HttpResponse:
        state = await sync_to_async(task_state_v1, thread_sensitive=False)(task_id, principal_of(request))
        return json_response(state)
