"""Working-memory tools: set, append to and get one session's state."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from mcp_app.context import caller
from memoryserver.auth.principal import READ, WRITE
from memoryserver.errors import InvalidInput
from memoryserver.validation import parse
from sessions_app import services
from sessions_app.repository import working_store
from sessions_app.schemas import (
    AppendMessagesInput,
    WindowQuery,
    WorkingMemory,
    WorkingMemoryInput,
    WorkingMemoryPutResponse,
)
from sessions_app.tasks import BACKGROUND
from upstream.arguments import MemoryArg, MessageArg, StrategyArg
from upstream.convert import tool_memory_payloads

SessionId = Annotated[str, Field(description="The conversation's session id, e.g. 'chat-42'.")]
Namespace = Annotated[
    str | None, Field(description="Namespace of the session; the default one when omitted.")
]
UserId = Annotated[
    str | None, Field(description="The user the session belongs to, when sessions are per user.")
]


async def set_working_memory(
    session_id: SessionId,
    memories: Annotated[
        list[MemoryArg] | None,
        Field(description="Structured memories of this session, e.g. [{'text': 'User prefers tea'}]."),
    ] = None,
    messages: Annotated[
        list[MessageArg] | None,
        Field(description="The conversation so far, oldest first: [{'role': 'user', 'content': '...'}]."),
    ] = None,
    context: Annotated[str | None, Field(description="A summary of the conversation so far.")] = None,
    data: Annotated[
        dict[str, Any] | None, Field(description="Any JSON object to keep with the session, e.g. settings.")
    ] = None,
    namespace: Namespace = None,
    user_id: UserId = None,
    ttl_seconds: Annotated[
        int | None,
        Field(description="Seconds until the session expires (default 3600); 0 or null keeps it."),
    ] = 3600,
    long_term_memory_strategy: Annotated[
        StrategyArg | None,
        Field(
            description="What extraction keeps from the messages: discrete (default), summary, preferences, "
            "or custom with config.custom_prompt."
        ),
    ] = None,
) -> WorkingMemoryPutResponse:
    """Save a session's working memory: its messages, structured memories, summary and data.

    Call it to keep the state of the current conversation between turns. It REPLACES the
    whole session, so send everything you want to keep. To add messages, use
    append_working_memory_messages instead: it never loses what others added. For facts that
    should outlive the session, use create_long_term_memories. When the messages outgrow the
    window, a summary job is queued and the answer says so in `summarization`.

    Examples:
      set_working_memory(session_id="chat-42",
          messages=[{"role": "user", "content": "I'm planning a trip to Japan"},
                    {"role": "assistant", "content": "When are you going?"}])
      set_working_memory(session_id="chat-42", data={"itinerary": ["Tokyo", "Kyoto"]},
          memories=[{"text": "User is planning a trip to Japan in April 2026", "topics": ["travel"]}])
    """
    principal = caller(WRITE)
    body = parse(
        WorkingMemoryInput,
        {
            "messages": [message.model_dump(exclude_none=True) for message in messages or []],
            "memories": tool_memory_payloads(memories),
            "context": context,
            "data": data,
            "ttl_seconds": ttl_seconds or None,
            **(
                {"long_term_memory_strategy": long_term_memory_strategy.payload()}
                if long_term_memory_strategy is not None
                else {}
            ),
        },
    )
    query = parse(WindowQuery, {"namespace": namespace, "user_id": user_id})
    return await services.put_working_memory(working_store(), principal, session_id, body, query, BACKGROUND)


async def append_working_memory_messages(
    session_id: SessionId,
    messages: Annotated[
        list[MessageArg],
        Field(description="New messages, oldest first: [{'role': 'user', 'content': '...'}]."),
    ],
    namespace: Namespace = None,
    user_id: UserId = None,
    ttl_seconds: Annotated[
        int | None, Field(description="Seconds until the session expires; omitted: it keeps its own.")
    ] = None,
) -> WorkingMemoryPutResponse:
    """Add messages to the end of a session's working memory, creating the session if needed.

    Call it after each turn. It is atomic: messages other clients add at the same time are
    all kept, and a message whose id the session already holds is not added twice. The
    answer is the session's recent window; a summary job is queued when it outgrew it.

    Example:
      append_working_memory_messages(session_id="chat-42",
          messages=[{"role": "user", "content": "Book the hotel in Kyoto"},
                    {"role": "assistant", "content": "Done: 3 nights from April 4"}])
    """
    principal = caller(WRITE)
    body = parse(
        AppendMessagesInput,
        {
            "messages": [message.model_dump(exclude_none=True) for message in messages],
            "ttl_seconds": ttl_seconds or None,
        },
    )
    query = parse(WindowQuery, {"namespace": namespace, "user_id": user_id})
    return await services.append_messages(working_store(), principal, session_id, body, query, BACKGROUND)


async def get_working_memory(
    session_id: SessionId,
    user_id: UserId = None,
    namespace: Namespace = None,
    recent_messages_limit: Annotated[
        int | None, Field(description="At most this many recent messages (default WINDOW_SIZE).")
    ] = None,
    model_name: Annotated[
        str | None, Field(description="Your model, e.g. gpt-4o: messages are trimmed to fit its window.")
    ] = None,
    context_window_max: Annotated[
        int | None, Field(description="A token budget for messages and summary; overrides model_name.")
    ] = None,
) -> WorkingMemory:
    """Read a session's working memory: recent messages, structured memories, summary and data.

    Call it at the start of a turn to recall the conversation so far, or before
    set_working_memory to add to the session. A session that does not exist is an error
    (nothing was saved under that id, namespace and user).

    Example:
      get_working_memory(session_id="chat-42", recent_messages_limit=10)
    """
    principal = caller(READ)
    window = {
        "namespace": namespace,
        "user_id": user_id,
        "window_size": recent_messages_limit,
        "model_name": model_name,
        "context_window_max": context_window_max,
    }
    try:
        query = parse(WindowQuery, window)
    except InvalidInput as error:
        raise error.renamed({"window_size": "recent_messages_limit"}) from None
    return await services.get_working_memory(working_store(), principal, session_id, query)
