"""Unified search: one query over a session's working memory and long-term memory.

Long-term memory is searched as usual (any mode and filter). The session's recent
messages and structured memories are not indexed, so they are matched by the query's
words in the process: cheap, and what a conversation's recent turns need.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from longterm_app.queries import text_terms
from longterm_app.repository import MemoryStore
from longterm_app.schemas import SearchRequest, SearchResult
from longterm_app.services import search_memories
from memoryserver.auth.principal import Principal
from memoryserver.errors import NotFound
from memoryserver.fields import Identifier
from providers.embeddings import Embedder
from sessions_app.repository import WorkingMemoryStore
from sessions_app.schemas import SessionScope, WindowQuery
from sessions_app.services import get_working_memory


class SessionRef(SessionScope):
    session_id: Identifier


class UnifiedSearchRequest(SearchRequest):
    session: SessionRef | None = Field(None, description="Also search this session's working memory.")


class WorkingMemoryHit(BaseModel):
    kind: Literal["message", "memory"]
    id: str
    role: str | None = None
    text: str
    score: float = Field(description="Share of the query's words the item contains.")


class UnifiedSearchResult(BaseModel):
    long_term: SearchResult
    working_memory: list[WorkingMemoryHit]


def _score(terms: set[str], text: str) -> float:
    return len(terms & set(text_terms(text))) / len(terms) if terms else 0.0


async def unified_search(
    sessions: WorkingMemoryStore,
    memories: MemoryStore,
    embedder: Embedder,
    principal: Principal,
    request: UnifiedSearchRequest,
) -> UnifiedSearchResult:
    search = SearchRequest.model_validate(request.model_dump(exclude={"session"}, exclude_unset=True))
    long_term = await search_memories(memories, embedder, principal, search)
    hits: list[WorkingMemoryHit] = []
    if request.session is not None:
        try:
            window = WindowQuery(
                namespace=request.session.namespace, user_id=request.session.user_id, window_size=1000
            )
            memory = await get_working_memory(sessions, principal, request.session.session_id, window)
        except NotFound:
            memory = None
        if memory is not None:
            terms = set(text_terms(request.text))
            hits = [
                WorkingMemoryHit(
                    kind="message", id=m.id, role=m.role, text=m.content, score=_score(terms, m.content)
                )
                for m in memory.messages
            ] + [
                WorkingMemoryHit(kind="memory", id=r.id, text=r.text, score=_score(terms, r.text))
                for r in memory.memories
            ]
            hits = sorted((h for h in hits if h.score > 0), key=lambda h: h.score, reverse=True)[
                : request.limit
            ]
    return UnifiedSearchResult(long_term=long_term, working_memory=hits)
