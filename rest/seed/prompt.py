"""REST views that combine working and long-term memory: the memory prompt and unified search."""

from __future__ import annotations

from typing import ClassVar

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from longterm_app.repository import memory_store
from memoryserver.auth.principal import READ, Scope
from providers.embeddings import get_embedder
from rest.plumbing import ApiView, json_response, parse_body, principal_of
from sessions_app.prompt import MemoryPromptRequest, MemoryPromptResponse, memory_prompt
from sessions_app.repository import working_store
from sessions_app.unified import UnifiedSearchRequest, UnifiedSearchResult, unified_search


class UnifiedSearchView(ApiView):
    """Search long-term memory and, by the query's words, a session's working memory."""

    method_scopes: ClassVar[dict[str, Scope]] = {"post": READ}

    @extend_schema(
        summary="Search working and long-term memory together",
        request=UnifiedSearchRequest,
        responses=UnifiedSearchResult,
    )
    async def post(self, request: Request) -> HttpResponse:
        body = parse_body(request, UnifiedSearchRequest)
        result = await unified_search(
            working_store(), memory_store(), get_embedder(), principal_of(request), body
        )
        return json_response(result)


class MemoryPromptView(ApiView):
    """A user's query hydrated with the session's summary and history and relevant long-term memories."""

    method_scopes: ClassVar[dict[str, Scope]] = {"post": READ}

    @extend_schema(
        summary="Build an LLM prompt from a query, a session and long-term memories",
        request=MemoryPromptRequest,
        responses=MemoryPromptResponse,
    )
    async def post(self, request: Request) -> HttpResponse:
        body = parse_body(request, MemoryPromptRequest)
        result = await memory_prompt(
            working_store(), memory_store(), get_embedder(), principal_of(request), body
        )
        return json_response(result)
