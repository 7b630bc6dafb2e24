"""Working-memory contract: what clients send and what the server stores and returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from longterm_app.records import MemoryRecord
from longterm_app.strategies import MemoryStrategy
from memoryserver.fields import Identifier, JsonObject, Timestamp, new_id, now

Role = Literal["user", "assistant", "system", "tool"]
MAX_MESSAGES = 10_000
MAX_TTL_SECONDS = 10 * 365 * 24 * 3600


@dataclass(frozen=True)
class SessionKey:
    """Identity of one working memory: the same session id in two namespaces is two sessions."""

    namespace: str
    user_id: str | None
    session_id: str


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Role
    content: str = Field(max_length=1_000_000)
    id: Identifier = Field(default_factory=new_id)
    created_at: Timestamp = Field(default_factory=now)
    discrete_memory_extracted: Literal["t", "f"] = Field(
        "f", description="'t' once long-term memories were extracted from it; never extracted again."
    )


class WorkingMemoryInput(BaseModel):
    """Body of PUT: replaces the session's working memory.

    The fields the server computes (`tokens`, `version`, the times...) are ignored, so a
    session can be sent back as it was read; any other unknown field is refused, since a
    misspelt `messages` would otherwise replace the session with an empty one.
    """

    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(default_factory=list, max_length=MAX_MESSAGES)
    memories: list[MemoryRecord] = Field(default_factory=list, max_length=MAX_MESSAGES)
    context: str | None = Field(default=None, max_length=1_000_000)
    data: JsonObject | None = None
    session_id: Identifier | None = None
    namespace: Identifier | None = None
    user_id: Identifier | None = None
    ttl_seconds: int | None = Field(default=None, ge=1, le=MAX_TTL_SECONDS)
    long_term_memory_strategy: MemoryStrategy = Field(
        default_factory=MemoryStrategy, description="How long-term memories are extracted from the messages."
    )

    @model_validator(mode="before")
    @classmethod
    def _without_server_fields(cls, body: Any) -> Any:
        if isinstance(body, dict):
            return {name: value for name, value in body.items() if name not in SERVER_FIELDS}
        return body


class AppendMessagesInput(BaseModel):
    """Body of POST /sessions/{id}/messages: messages added to the end, in one atomic step."""

    model_config = ConfigDict(extra="ignore")

    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    session_id: Identifier | None = None
    namespace: Identifier | None = None
    user_id: Identifier | None = None
    ttl_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_TTL_SECONDS,
        description="Sets the session's TTL; when omitted the session keeps its own (refreshed).",
    )


class WorkingMemory(BaseModel):
    """A session's working memory as stored and returned."""

    session_id: Identifier
    namespace: Identifier
    user_id: Identifier | None = None
    messages: list[Message] = Field(default_factory=list)
    memories: list[MemoryRecord] = Field(default_factory=list)
    context: str | None = None
    data: JsonObject | None = None
    tokens: int = Field(0, description="Tokens of the messages and context returned (cl100k).")
    ttl_seconds: int | None = None
    long_term_memory_strategy: MemoryStrategy = Field(default_factory=MemoryStrategy)
    created_at: Timestamp
    updated_at: Timestamp
    last_accessed: Timestamp
    version: int = Field(
        0,
        description="Grows with every write (also sent as the ETag). Send it back in `If-Match` "
        "to replace the session only if nobody wrote to it meanwhile.",
    )


class SummarizationQueued(BaseModel):
    """What became of the summary a write asked for: queued as a job, or disabled (no job)."""

    status: Literal["queued", "disabled"] = "queued"
    job_id: str | None = Field(None, description="The summary job (GET /tasks/{id}); null when disabled.")
    reason: str = Field(description="Why the session needs a summary.")
    detail: str | None = Field(None, description="Why no summary is made, when disabled.")


class WorkingMemoryPutResponse(WorkingMemory):
    summarization: SummarizationQueued | None = Field(
        None, description="Set when the session outgrew its window and a summary job was queued."
    )


# What a GET or PUT answers beyond what a PUT takes.
SERVER_FIELDS = frozenset(WorkingMemoryPutResponse.model_fields) - frozenset(WorkingMemoryInput.model_fields)


class SessionScope(BaseModel):
    """Query parameters that select a session's namespace and user."""

    model_config = ConfigDict(extra="ignore")

    namespace: Identifier | None = Field(
        None, description="Namespace of the session (default: DEFAULT_NAMESPACE)."
    )
    user_id: Identifier | None = Field(None, description="Owner of the session, when sessions are per user.")


class WindowQuery(SessionScope):
    """Query parameters of GET/PUT: which namespace, and how much the client model can take."""

    window_size: int | None = Field(
        default=None,
        ge=1,
        le=MAX_MESSAGES,
        description="Most recent messages to return (default: WINDOW_SIZE).",
    )
    model_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Client model (OpenAI or Anthropic): trims messages to its context window.",
    )
    context_window_max: int | None = Field(
        default=None,
        ge=1,
        le=100_000_000,
        description="Token budget of the client; overrides model_name's window.",
    )


class SessionListQuery(SessionScope):
    limit: int = Field(10, ge=1, le=1000, description="Sessions per page.")
    offset: int = Field(0, ge=0, le=10_000_000, description="Sessions to skip.")


class SessionList(BaseModel):
    sessions: list[str]
    total: int


class DeleteResult(BaseModel):
    status: Literal["ok"] = "ok"
    deleted: bool
