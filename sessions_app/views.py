"""REST views of working memory: parse, call the service, render."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from memoryserver.api.parameters import query_parameters
from memoryserver.api.views import ApiView, json_response, parse_body, parse_query, principal_of
from memoryserver.redis import get_async_redis
from sessions_app import services
from sessions_app.repository import WorkingMemoryStore
from sessions_app.schemas import (
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


def _store() -> WorkingMemoryStore:
    return WorkingMemoryStore(get_async_redis("working"))


class SessionListView(ApiView):
    """Session ids, most recently updated first, optionally of one namespace."""

    @extend_schema(
        summary="List sessions, most recently updated first",
        parameters=query_parameters(SessionListQuery),
        responses=SessionList,
    )
    async def get(self, request: Request) -> HttpResponse:
        query = parse_query(request, SessionListQuery)
        sessions, total = await services.list_sessions(_store(), principal_of(request), query)
        return json_response(SessionList(sessions=sessions, total=total))


class WorkingMemoryView(ApiView):
    """A session's working memory: messages, structured memories, context summary and data."""

    @extend_schema(summary="Get a session's working memory", parameters=WINDOW, responses=WorkingMemory)
    async def get(self, request: Request, session_id: str) -> HttpResponse:
        query = parse_query(request, WindowQuery)
        memory = await services.get_working_memory(_store(), principal_of(request), session_id, query)
        return json_response(memory)

    @extend_schema(
        summary="Replace a session's working memory",
        parameters=WINDOW,
        request=WorkingMemoryInput,
        responses=WorkingMemoryPutResponse,
    )
    async def put(self, request: Request, session_id: str) -> HttpResponse:
        query = parse_query(request, WindowQuery)
        body = parse_body(request, WorkingMemoryInput)
        memory = await services.put_working_memory(
            _store(), principal_of(request), session_id, body, query, BACKGROUND
        )
        return json_response(memory)

    @extend_schema(
        summary="Delete a session's working memory", parameters=SCOPE, responses={200: DeleteResult}
    )
    async def delete(self, request: Request, session_id: str) -> HttpResponse:
        scope = parse_query(request, SessionScope)
        deleted = await services.delete_working_memory(_store(), principal_of(request), session_id, scope)
        return json_response(DeleteResult(deleted=deleted))
