"""The memory prompt: a user's query hydrated with session history and long-term memories.

Shared by every transport (the MCP `memory_prompt` tool, REST `POST /memory-prompt`). The
result is a list of messages ready for an LLM, in the upstream server's shape: a system
message (the session's context summary and the relevant long-term memories), the recent
session messages that fit the client model's budget, then the query as the last user message.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from longterm_app.query_rewrite import optimized
from longterm_app.repository import MemoryStore
from longterm_app.schemas import MAX_SEARCH_TEXT, MemoryHit, SearchRequest, TagFilter
from longterm_app.services import search_memories
from memoryserver.auth.principal import Principal
from memoryserver.errors import InvalidInput, NotFound
from memoryserver.fields import Identifier
from memoryserver.tokens import count_message
from memoryserver.validation import object_or_flag
from providers.embeddings import Embedder
from sessions_app.repository import WorkingMemoryStore
from sessions_app.schemas import Message, SessionKey, WindowQuery
from sessions_app.services import get_working_memory, session_key
from sessions_app.windows import message_budget

SUMMARY_HEADING = "## Summary of the conversation so far"
MEMORIES_HEADING = "## Long-term memories relevant to the user's query"


class PromptSession(WindowQuery):
    """The session whose history goes into the prompt, and how much of it the client can take."""

    session_id: Identifier


class MemoryPromptRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    query: str = Field(min_length=1, max_length=100_000, description="The user's message to answer.")
    session: PromptSession | None = Field(None, description="Include this session's recent history.")
    long_term_search: Annotated[
        SearchRequest | bool | None, object_or_flag(SearchRequest, "long_term_search")
    ] = Field(
        None,
        description="Include long-term memories found by this search (its text defaults to the query); "
        "true searches with the query and default options.",
    )


class TextContent(BaseModel):
    type: Literal["text"] = "text"
    text: str


class PromptMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: TextContent

    @classmethod
    def of(cls, role: Literal["system", "user", "assistant"], text: str) -> PromptMessage:
        return cls(role=role, content=TextContent(text=text))


class MemoryPromptResponse(BaseModel):
    messages: list[PromptMessage] = Field(description="System context, session history, then the query.")
    long_term_memories: list[MemoryHit] = Field(
        default_factory=list, description="The long-term memories placed in the system message."
    )


def search_text(query: str) -> str:
    """A prompt's query as the text of its long-term search (which takes at most
    MAX_SEARCH_TEXT characters); a longer query is refused by its own name."""
    if len(query) > MAX_SEARCH_TEXT:
        raise InvalidInput(
            "query",
            f"has {len(query)} characters and a long-term search takes at most {MAX_SEARCH_TEXT}: "
            "give the search a text of its own, or leave long-term search out",
        )
    return query


def _search_request(request: MemoryPromptRequest) -> SearchRequest | None:
    search = request.long_term_search
    if search is None or search is False:
        return None
    if search is True:
        search = SearchRequest()
    if search.text.strip():
        return search
    return search.model_copy(update={"text": search_text(request.query)})


def _within_session(search: SearchRequest, key: SessionKey) -> SearchRequest:
    """A session's prompt recalls its owner's memories: the search keeps to the session's
    namespace and user unless it names others (no other tenant's or user's memory reaches
    the prompt by default)."""
    update = {}
    if search.namespace is None:
        update["namespace"] = TagFilter(eq=key.namespace)
    if search.user_id is None and key.user_id is not None:
        update["user_id"] = TagFilter(eq=key.user_id)
    return search.model_copy(update=update) if update else search


async def optimized_search(request: MemoryPromptRequest) -> tuple[MemoryPromptRequest, str | None]:
    """The request with its long-term search's text (the query, when the search names none)
    rewritten by the fast chat model, and a warning when the rewrite did not happen."""
    search = _search_request(request)
    if search is None:
        return request, None
    rewritten, warning = await optimized(search)
    return request.model_copy(update={"long_term_search": rewritten}), warning


def _memories_section(memories: list[MemoryHit]) -> str:
    if not memories:
        return ""
    return "\n".join([MEMORIES_HEADING, *(f"- {memory.text}" for memory in memories)])


async def _session_history(
    store: WorkingMemoryStore, principal: Principal, session: PromptSession, memories_text: str, query: str
) -> tuple[str | None, list[Message]]:
    """The session's context and the newest messages that fit beside the rest of the prompt.

    With a token budget (model_name or context_window_max), the memories section and the
    query are sent too, so they are taken off the budget before the messages are fitted.
    """
    budget = message_budget(session)
    window: WindowQuery = session
    if budget.max_tokens is not None:
        # The system message's framing and headings travel too; the context is counted by the service.
        system_rest = f"{SUMMARY_HEADING}\n\n{memories_text}"
        reserved = count_message(system_rest, budget.family) + count_message(query, budget.family)
        window = session.model_copy(update={"context_window_max": max(1, budget.max_tokens - reserved)})
    try:
        memory = await get_working_memory(store, principal, session.session_id, window)
    except NotFound:
        return None, []
    return memory.context, memory.messages


def _history_message(message: Message) -> PromptMessage:
    # A tool result without its call id is not a valid "tool" message for chat APIs.
    if message.role == "tool":
        return PromptMessage.of("assistant", f"Tool output: {message.content}")
    return PromptMessage.of(message.role, message.content)


async def memory_prompt(
    sessions: WorkingMemoryStore,
    memories: MemoryStore,
    embedder: Embedder,
    principal: Principal,
    request: MemoryPromptRequest,
) -> MemoryPromptResponse:
    """Build the prompt; a session that does not exist simply contributes no history."""
    search = _search_request(request)
    if request.session is not None:
        message_budget(request.session)  # an unknown model fails before any search runs
        if search is not None:
            try:
                key = session_key(request.session.session_id, request.session, principal)
            except InvalidInput as error:
                raise error.under("session") from None
            search = _within_session(search, key)
    found = (
        (await search_memories(memories, embedder, principal, search)).memories if search is not None else []
    )
    memories_text = _memories_section(found)
    context: str | None = None
    history: list[Message] = []
    if request.session is not None:
        context, history = await _session_history(
            sessions, principal, request.session, memories_text, request.query
        )
    system_parts = [f"{SUMMARY_HEADING}\n{context}" if context else "", memories_text]
    system_text = "\n\n".join(part for part in system_parts if part)
    messages = [PromptMessage.of("system", system_text)] if system_text else []
    messages.extend(_history_message(message) for message in history)
    messages.append(PromptMessage.of("user", request.query))
    return MemoryPromptResponse(messages=messages, long_term_memories=found)
