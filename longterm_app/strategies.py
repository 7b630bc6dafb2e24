"""How long-term memories are extracted from a session's messages: the per-session strategy."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

StrategyName = Literal["discrete", "summary", "preferences", "custom"]

_OUTPUT_RULES = (
    "Write every memory as one standalone sentence that makes sense without the conversation: "
    "name the user as 'the user' (or by name when known), never 'I' or 'you'. "
    "Resolve relative dates and times ('yesterday', 'next Friday', 'last year') to absolute dates "
    "using the time shown before each message. "
    "Give each memory 1-3 short lower-case topics and the named entities (people, places, "
    "organisations, products) it mentions. Return an empty list when nothing is worth keeping."
)

INSTRUCTIONS: dict[str, str] = {
    "discrete": (
        "Extract the discrete facts worth remembering about the user from this conversation: "
        "semantic memories (preferences, traits, relationships, plans, facts about their life) "
        "and episodic memories (events that happened or will happen, with their event_date). "
        "Skip small talk, the assistant's own suggestions and anything only relevant to this exchange."
    ),
    "summary": (
        "Write one memory that summarises this part of the conversation: what was discussed, "
        "decided and left open, in at most five sentences."
    ),
    "preferences": (
        "Extract only the user's preferences, likes, dislikes and habits stated in this conversation."
    ),
}


class MemoryStrategy(BaseModel):
    """Per-session choice of what the extraction model keeps."""

    model_config = ConfigDict(extra="ignore")

    strategy: StrategyName = "discrete"
    custom_prompt: str | None = Field(
        None, max_length=10_000, description="What to extract, for strategy 'custom'."
    )

    @model_validator(mode="after")
    def _custom_needs_prompt(self) -> MemoryStrategy:
        if self.strategy == "custom" and not (self.custom_prompt or "").strip():
            raise ValueError("strategy 'custom' needs a custom_prompt")
        return self

    def instructions(self) -> str:
        task = self.custom_prompt if self.strategy == "custom" else INSTRUCTIONS[self.strategy]
        return f"{(task or '').strip()}\n\n{_OUTPUT_RULES}"
