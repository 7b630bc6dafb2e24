"""REST views of working memory: parse, call the service, render."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from rest.parameters import query_parameters
from rest.plumbing import (
    ApiCall,
    ApiView,
    call_of,
    json_response,
    parse_body,
    parse_json,
    parse_params,
    parse_query,
    principal_of,
)
from sessions_app import services
from sessions_app.repository import working_store
from sessions_app.schemas import (
    AppendMessagesInput,
    DeleteResult,
    SessionList,
    SessionListQuery,
    SessionScope,
    WindowQuery,
    WorkingMemory,
    WorkingMemoryInput,
    WorkingMemoryPutResponse,
)
from sessions_app.tasks import BACKGROUND

SCOPE = query_parameters(SessionScope)
WINDOW = query_parameters(WindowQuery)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The session's ETag (its `version`) from an earlier answer: the PUT replaces the "
    "session only if nobody wrote to it since, else answers 412 and writes nothing. Without it "
    "the PUT replaces whatever is there (last writer wins).",
)
IF_MATCH_DELETE = OpenApiParameter(
    "If-Match",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The session's ETag from an earlier answer: the session is deleted only if nobody "
    "wrote to it since, else the answer is 412 and nothing is deleted.",
)
STALE = {412: OpenApiResponse(description="If-Match names a version that is no longer current.")}


def versioned(memory: WorkingMemory) -> HttpResponse:
    """The session as JSON, with its version as the ETag (what `If-Match` takes back)."""
    response = json_response(memory)
    response["ETag"] = f'"{memory.version}"'
    return response


async def get_working_memory(call: ApiCall, session_id: str) -> HttpResponse:
    """GET /sessions/{session_id}/memory (a hot route: see rest.hot)."""
    query = parse_params(call, WindowQuery)
    memory = await services.get_working_memory(working_store(), call.principal, session_id, query)
    return versioned(memory)


async def put_working_memory(call: ApiCall, session_id: str) -> HttpResponse:
    """PUT /sessions/{session_id}/memory (a hot route: see rest.hot)."""
    query = parse_params(call, WindowQuery)
    body = parse_json(call.body, WorkingMemoryInput)
    if_match = services.parse_if_match(call.if_match)
    memory = await services.put_working_memory(
        working_store(), call.principal, session_id, body, query, BACKGROUND, if_match
    )
    return versioned(memory)


class SessionListView(ApiView):
    """Session ids, most recently updated first, optionally of one namespace."""

    @extend_schema(
        summary="List sessions, most recently updated first",
        parameters=query_parameters(SessionListQuery),
        responses=SessionList,
    )
    async def get(self, request: Request) -> HttpResponse:
        query = parse_query(request, SessionListQuery)
        sessions, total = await services.list_sessions(working_store(), principal_of(request), query)
        return json_response(SessionList(sessions=sessions, total=total))


class WorkingMemoryView(ApiView):
    """A session's working memory: messages, structured memories, context summary and data."""

    @extend_schema(summary="Get a session's working memory", parameters=WINDOW, responses=WorkingMemory)
    async def get(self, request: Request, session_id: str) -> HttpResponse:
        return await get_working_memory(call_of(request), session_id)

    @extend_schema(
        summary="Replace a session's working memory",
        description="A full replace. To add messages without losing what other clients add at the "
        "same time, use `POST /sessions/{session_id}/messages`, or send the ETag back in `If-Match`.",
        parameters=[*WINDOW, IF_MATCH],
        request=WorkingMemoryInput,
        responses={200: WorkingMemoryPutResponse, **STALE},
    )
    async def put(self, request: Request, session_id: str) -> HttpResponse:
        return await put_working_memory(call_of(request), session_id)

    @extend_schema(
        summary="Delete a session's working memory",
        parameters=[*SCOPE, IF_MATCH_DELETE],
        responses={200: DeleteResult, **STALE},
    )
    async def delete(self, request: Request, session_id: str) -> HttpResponse:
        scope = parse_query(request, SessionScope)
        if_match = services.parse_if_match(request.headers.get("If-Match"))
        deleted = await services.delete_working_memory(
            working_store(), principal_of(request), session_id, scope, if_match
        )
        return json_response(DeleteResult(deleted=deleted))


class MessagesView(ApiView):
    """Messages appended to a session in one atomic step."""

    @extend_schema(
        summary="Append messages to a session's working memory",
        description="Adds the messages to the end of the session in one atomic step, creating the "
        "session if there is none: concurrent appends lose nothing. A message whose id the session "
        "already holds is skipped, so a retried append adds nothing twice. Queues summarisation "
        "and extraction like a PUT; answers the session as a GET with the same window would.",
        parameters=WINDOW,
        request=AppendMessagesInput,
        responses=WorkingMemoryPutResponse,
    )
    async def post(self, request: Request, session_id: str) -> HttpResponse:
        services.refuse_if_match_on_append(request.headers.get("If-Match"))
        query = parse_query(request, WindowQuery)
        body = parse_body(request, AppendMessagesInput)
        memory = await services.append_messages(
            working_store(), principal_of(request), session_id, body, query, BACKGROUND
        )
        return versioned(memory)
