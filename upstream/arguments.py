"""Structured tool arguments in the upstream tools' shapes, and their translation.

These models describe what an LLM may send (so the advertised JSON schema says that time
values are ISO-8601 strings or epoch seconds); the service contracts then validate the
values as the REST API does. Upstream-only keys (`access_count`, `extraction_strategy`,
...) are accepted and ignored, so existing agent prompts work; `pinned: true` is refused
where a memory is stored, since this server cannot pin and must not seem to.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from longterm_app.records import MemoryType
from upstream.filters import DateTime


class MessageArg(BaseModel):
    """One conversation message."""

    model_config = ConfigDict(extra="ignore", title="MemoryMessage")

    role: Literal["user", "assistant", "system", "tool"] = Field(description="Who said it.")
    content: str = Field(description="What was said.")
    id: str | None = Field(None, description="Optional message id; generated when omitted.")
    created_at: DateTime | None = Field(None, description="When it was said; now when omitted.")


class MemoryArg(BaseModel):
    """One memory record; only `text` is required."""

    model_config = ConfigDict(extra="ignore", title="MemoryRecord")

    text: str = Field(description="The memory, self-contained: names instead of pronouns, absolute dates.")
    id: str | None = Field(
        None, description="Optional id; generated when omitted. Reusing an id replaces it."
    )
    memory_type: MemoryType = Field(
        "semantic", description="semantic (lasting facts, preferences) or episodic (events with a date)."
    )
    topics: list[str] | None = Field(None, description="Topic tags, e.g. ['travel', 'food'].")
    entities: list[str] | None = Field(None, description="Named things it mentions, e.g. ['Paris'].")
    event_date: DateTime | None = Field(None, description="When the event happened (episodic memories).")
    session_id: str | None = Field(None, description="The session it came from; omit unless known.")
    user_id: str | None = Field(None, description="The user it is about.")
    namespace: str | None = Field(None, description="Namespace; the default namespace when omitted.")
    created_at: DateTime | None = Field(None, description="Creation time; now when omitted.")
    updated_at: DateTime | None = Field(None, description="Last update time; now when omitted.")
    last_accessed: DateTime | None = Field(None, description="Last access time; now when omitted.")
    discrete_memory_extracted: Literal["t", "f"] | None = Field(
        None, description="Whether memories were already extracted from it."
    )
    extracted_from: list[str] | None = Field(None, description="Ids of the messages it was extracted from.")
    pinned: bool | None = Field(None, description="Not supported by this server; omit it.")

    def payload(self) -> dict[str, Any]:
        """The record for the service contract; unset values take the server's defaults."""
        return self.model_dump(exclude_none=True, exclude={"pinned"})


class StrategyArg(BaseModel):
    """How memories would be extracted when working memory is promoted to long-term memory."""

    model_config = ConfigDict(extra="ignore", title="MemoryStrategyConfig")

    strategy: Literal["discrete", "summary", "preferences", "custom"] = "discrete"
    config: dict[str, Any] = Field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """Our strategy: upstream keeps a custom strategy's prompt in `config.custom_prompt`."""
        return {"strategy": self.strategy, "custom_prompt": self.config.get("custom_prompt")}
