"""Summarisation of a session: which messages to fold, and the running summary the model writes."""

from __future__ import annotations

from collections.abc import Iterator

from memoryserver.tokens import count_message
from providers.llm import ChatMessage, ChatModel
from sessions_app.schemas import Message
from sessions_app.windows import MessageBudget

# Per model call, at most this many tokens of messages: long backlogs fold in a few bounded calls.
CHUNK_TOKENS = 6_000
SUMMARY_MAX_WORDS = 300

SYSTEM_PROMPT = (
    "You keep the running summary of a conversation between a user and an AI assistant. "
    "Update the current summary with the new messages: keep names, facts about the user, "
    "preferences, dates, decisions and open questions or tasks; drop greetings and small talk; "
    "keep what the current summary says unless the new messages correct it. "
    f"Write plain prose of at most {SUMMARY_MAX_WORDS} words. Answer with the updated summary only."
)


def split_for_summary(messages: list[Message], budget: MessageBudget) -> tuple[list[Message], list[Message]]:
    """(messages to fold into the summary, recent messages to keep).

    Keeps the newest messages that fill half the window (count and, with a token budget,
    tokens), so a session is not summarised again on its very next write.
    """
    keep_count = max(1, budget.max_messages // 2)
    token_room = budget.max_tokens // 2 if budget.max_tokens is not None else None
    kept = 0
    used = 0
    for message in reversed(messages):
        cost = count_message(message.content, budget.family)
        if kept >= keep_count or (token_room is not None and kept and used + cost > token_room):
            break
        kept += 1
        used += cost
    cut = len(messages) - kept
    return messages[:cut], messages[cut:]


def _chunks(messages: list[Message]) -> Iterator[list[Message]]:
    chunk: list[Message] = []
    used = 0
    for message in messages:
        cost = count_message(message.content)
        if chunk and used + cost > CHUNK_TOKENS:
            yield chunk
            chunk, used = [], 0
        chunk.append(message)
        used += cost
    if chunk:
        yield chunk


def _transcript(messages: list[Message]) -> str:
    return "\n".join(f"{message.role}: {message.content}" for message in messages)


def updated_summary(model: ChatModel, summary: str | None, messages: list[Message]) -> str:
    """The running summary with `messages` folded in: one model call per chunk of messages."""
    for chunk in _chunks(messages):
        prompt = f"Current summary:\n{summary or '(none yet)'}\n\nNew messages:\n{_transcript(chunk)}"
        result = model.complete(
            [ChatMessage("system", SYSTEM_PROMPT), ChatMessage("user", prompt)],
            task="summarization",
            max_tokens=1024,
        )
        summary = result.text.strip() or summary
    return summary or ""
