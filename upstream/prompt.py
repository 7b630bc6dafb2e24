"""A /v1 memory-prompt request as the memory-prompt service's, with upstream's semantics.

- The session's whole history is offered (trimmed only to the client model's window).
- `long_term_search: true` searches with the query for up to 20 memories, leaving out the
  session's own (its messages are already in the prompt) and keeping to the session's user.
- A search object always searches for the query; the session's user is added as a filter
  when the search names no user.
"""

from __future__ import annotations

from typing import Any

from longterm_app.schemas import SearchRequest
from memoryserver.errors import InvalidInput
from memoryserver.validation import parse
from sessions_app.prompt import MemoryPromptRequest, PromptSession, search_text
from sessions_app.schemas import MAX_MESSAGES
from upstream.filters import TagFilterV1
from upstream.schemas import MemoryPromptRequestV1, SearchRequestV1, WorkingMemoryRequest
from upstream.search import v1_search_request
from upstream.windows import client_window

DEFAULT_PROMPT_SEARCH_LIMIT = 20


def _session(session: WorkingMemoryRequest) -> tuple[PromptSession, str | None]:
    window = client_window(session.model_name, session.context_window_max)
    payload = {
        "session_id": session.session_id,
        "namespace": session.namespace,
        "user_id": session.user_id,
        "model_name": window.model_name,
        "context_window_max": window.context_window_max,
        "window_size": MAX_MESSAGES,
    }
    return parse(PromptSession, payload, prefix="session"), window.warning


def _search(request: MemoryPromptRequestV1) -> SearchRequest | None:
    search, session = request.long_term_search, request.session
    if search is None or search is False:
        return None
    if search is True:
        filters: dict[str, Any] = {}
        if session is not None:
            filters["session_id"] = TagFilterV1(ne=session.session_id)
            if session.user_id:
                filters["user_id"] = TagFilterV1(eq=session.user_id)
        search = SearchRequestV1(limit=DEFAULT_PROMPT_SEARCH_LIMIT, **filters)
    text = search_text(request.query)  # upstream searches with the query, always
    try:
        if session is not None and session.user_id and not _conditions(search.user_id):
            search = search.model_copy(update={"user_id": TagFilterV1(eq=session.user_id)})
        return v1_search_request(search, text=text)
    except InvalidInput as error:
        raise error.under("long_term_search") from None


def _conditions(user_filter: TagFilterV1 | None) -> bool:
    """Whether the search names a user (a filter object with no condition names none)."""
    return user_filter is not None and bool(user_filter.operators("user_id"))


def prompt_request(request: MemoryPromptRequestV1) -> tuple[MemoryPromptRequest, str | None]:
    """Our request, and the Warning header text when the session's model is unknown."""
    if request.session is None and not request.long_term_search:
        raise InvalidInput("session", "give a session, a long_term_search, or both")
    session, warning = _session(request.session) if request.session else (None, None)
    payload = {"query": request.query, "session": session, "long_term_search": _search(request)}
    return parse(MemoryPromptRequest, payload), warning
