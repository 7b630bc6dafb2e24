"""Long-term memory tools: create, get, edit, delete and compact memories by id."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from longterm_app import services
from longterm_app.records import MemoryRecord, MemoryType
from longterm_app.repository import memory_store
from longterm_app.schemas import (
    CompactQueued,
    CompactRequest,
    CreateMemoriesRequest,
    CreateMemoriesResult,
    DeleteMemoriesResult,
    MemoryPatch,
)
from longterm_app.tasks import BACKGROUND, schedule_compaction
from mcp_app.context import caller
from memoryserver.auth.principal import ADMIN, READ, WRITE
from memoryserver.errors import InvalidInput
from memoryserver.validation import parse
from providers.embeddings import get_embedder
from upstream.arguments import MemoryArg
from upstream.convert import refuse_pinned, tool_memory_payloads
from upstream.filters import DateTime

MemoryId = Annotated[str, Field(description="The memory's id, as returned by create or search.")]
Namespace = Annotated[
    str | None, Field(description="The namespace the memory is in; the default namespace when omitted.")
]
Owner = Annotated[
    str | None,
    Field(
        description="The user the memory belongs to (ids are unique per namespace and user); "
        "needed only when several users use the id."
    ),
]


async def create_long_term_memories(
    memories: Annotated[list[MemoryArg], Field(description="The memories to store (1-1000).")],
) -> CreateMemoriesResult:
    """Store lasting memories: facts, preferences and events worth recalling in later conversations.

    Call it when you learn something about the user that will matter later. Write each
    memory self-contained: names instead of pronouns ("User prefers..." not "He
    prefers..."), absolute dates instead of "yesterday" (get_current_datetime tells today's
    date), concrete places and things instead of "there" or "the project".
    - semantic memories are lasting facts and preferences: "User is vegetarian".
    - episodic memories are events; give their `event_date`: "User moved to Berlin in May 2025".
    An exact duplicate of a stored memory (same text, namespace and user) is not stored
    twice: the answer lists it under `merged`. Reusing an id replaces that memory.

    Example:
      create_long_term_memories(memories=[
          {"text": "User prefers dark mode in every application", "topics": ["preferences"]},
          {"text": "User ran the Berlin marathon on 2025-09-21", "memory_type": "episodic",
           "event_date": "2025-09-21T09:00:00Z", "entities": ["Berlin marathon"]}])
    """
    principal = caller(WRITE)
    request = parse(CreateMemoriesRequest, {"memories": tool_memory_payloads(memories)})
    return await services.create_memories(memory_store(), get_embedder(), principal, request, BACKGROUND)


async def get_long_term_memory(
    memory_id: MemoryId, namespace: Namespace = None, user_id: Owner = None
) -> MemoryRecord:
    """Read one long-term memory by id, with all its fields.

    Call it to check a memory before editing or deleting it.

    Example:
      get_long_term_memory(memory_id="01JQ3Z8KX4M2V7T5R9N6B1C0DE")
    """
    return await services.get_memory(memory_store(), caller(READ), namespace, memory_id, user_id)


async def edit_long_term_memory(
    memory_id: MemoryId,
    text: Annotated[str | None, Field(description="The corrected text (re-embedded for search).")] = None,
    topics: Annotated[list[str] | None, Field(description="Replaces the topics.")] = None,
    entities: Annotated[list[str] | None, Field(description="Replaces the entities.")] = None,
    memory_type: Annotated[MemoryType | None, Field(description="semantic, episodic or message.")] = None,
    namespace: Namespace = None,
    user_id: Annotated[str | None, Field(description="Assign the memory to this user.")] = None,
    session_id: Annotated[str | None, Field(description="Assign the memory to this session.")] = None,
    event_date: Annotated[
        DateTime | None, Field(description="When the event happened, e.g. 2025-09-21T09:00:00Z.")
    ] = None,
    pinned: Annotated[bool | None, Field(description="Not supported by this server; omit it.")] = None,
    owner_user_id: Annotated[
        str | None,
        Field(
            description="The user the memory belongs to now (ids are unique per namespace and "
            "user); needed only when several users use the id. `user_id` gives it to another."
        ),
    ] = None,
) -> MemoryRecord:
    """Correct or update a stored memory; only the fields you give change.

    Call it when the user corrects something remembered or a fact changes ("I moved to
    Lisbon"), rather than creating a contradicting memory. Find the id with
    search_long_term_memory first. `namespace` says where the memory is; memories do not
    move between namespaces. For dated events, set event_date and write the date in the text.

    Examples:
      edit_long_term_memory(memory_id="01JQ3Z8KX4M2V7T5R9N6B1C0DE", text="User lives in Lisbon since 2025")
      edit_long_term_memory(memory_id="01JQ3Z8KX4M2V7T5R9N6B1C0DE", memory_type="episodic",
          event_date="2025-06-01T00:00:00Z")
    """
    principal = caller(WRITE)
    refuse_pinned("pinned", pinned is not None)  # any value: the tool has no pinning to switch off
    changes: dict[str, Any] = {
        "text": text,
        "topics": topics,
        "entities": entities,
        "memory_type": memory_type,
        "user_id": user_id,
        "session_id": session_id,
        "event_date": event_date,
    }
    patch = parse(MemoryPatch, {name: value for name, value in changes.items() if value is not None})
    if not patch.model_fields_set:
        raise InvalidInput("", "no fields to update: give text, topics, entities, memory_type, ...")
    store = memory_store()
    return await services.edit_memory(
        store, get_embedder(), principal, namespace, memory_id, patch, owner_user_id
    )


async def delete_long_term_memories(
    memory_ids: Annotated[list[str], Field(description="Ids of the memories to delete.")],
    namespace: Namespace = None,
    user_id: Owner = None,
) -> DeleteMemoriesResult:
    """Delete long-term memories by id, permanently.

    Call it when the user asks you to forget something, or a memory is wrong and cannot be
    corrected with edit_long_term_memory. Ids that do not exist are listed in `missing`.

    Example:
      delete_long_term_memories(memory_ids=["01JQ3Z8KX4M2V7T5R9N6B1C0DE"])
    """
    principal = caller(WRITE)
    if not memory_ids:
        raise InvalidInput("memory_ids", "name at least one memory id")
    return await services.delete_memories(memory_store(), principal, namespace, memory_ids, user_id)


async def compact_long_term_memories(
    namespace: Annotated[str | None, Field(description="Only this namespace.")] = None,
    user_id: Annotated[str | None, Field(description="Only this user's memories.")] = None,
    session_id: Annotated[
        str | None, Field(description="Not supported: compaction works per namespace and user.")
    ] = None,
    dry_run: Annotated[bool, Field(description="Only report what would be merged; change nothing.")] = False,
    distance_threshold: Annotated[
        float | None,
        Field(description="Cosine distance (0-1] under which memories count as near duplicates."),
    ] = None,
) -> CompactQueued:
    """Merge duplicate and near-duplicate long-term memories, in the background.

    Exact duplicates merge at once; near duplicates merge into one text by the chat model
    (without one they are only reported). With dry_run nothing changes: the task's result
    lists what would merge. The answer is the background task's id. Needs the admin scope.

    Example:
      compact_long_term_memories(namespace="work", dry_run=True)
    """
    principal = caller(ADMIN)
    if session_id is not None:
        raise InvalidInput("session_id", "compaction works per namespace and user; omit session_id")
    request = parse(
        CompactRequest,
        {
            "namespace": namespace,
            "user_id": user_id,
            "dry_run": dry_run,
            "distance_threshold": distance_threshold,
        },
    )
    return await services.queue_compaction(principal, request, schedule_compaction)
