"""Working-memory operations shared by every transport (REST now, MCP later)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from django.conf import settings

from longterm_app.records import MemoryRecord, memory_hash
from memoryserver.auth.principal import Principal
from memoryserver.errors import InvalidInput, NotFound, PreconditionFailed
from memoryserver.fields import ascii_digits, check_identifier, now
from memoryserver.tokens import count_messages, count_text
from memoryserver.validation import refuse_repeated_ids
from providers.llm import chat_model_status
from sessions_app.repository import SessionFull, StaleVersion, WorkingMemoryStore
from sessions_app.schemas import (
    MAX_MESSAGES,
    AppendMessagesInput,
    Message,
    SessionKey,
    SessionListQuery,
    SessionScope,
    SummarizationQueued,
    WindowQuery,
    WorkingMemory,
    WorkingMemoryInput,
    WorkingMemoryPutResponse,
)
from sessions_app.windows import MessageBudget, fit_messages, message_budget, summary_reason


@dataclass(frozen=True)
class BackgroundWork:
    """How a write queues the session's background jobs; each returns the job id."""

    summary: Callable[[SessionKey, MessageBudget], Awaitable[str]]
    promotion: Callable[[SessionKey], Awaitable[str]]
    extraction: Callable[[SessionKey], Awaitable[str]]


def session_key(session_id: str, scope: SessionScope, principal: Principal) -> SessionKey:
    """The session named by the request, within the namespaces and user the caller may use."""
    try:
        check_identifier(session_id)
    except ValueError as error:
        raise InvalidInput("session_id", str(error)) from None
    namespace = (
        principal.check_namespace(scope.namespace) if scope.namespace else principal.default_namespace()
    )
    return SessionKey(namespace, principal.check_user(scope.user_id), session_id)


def _describe(key: SessionKey) -> str:
    owner = f" for user '{key.user_id}'" if key.user_id else ""
    return f"session '{key.session_id}' in namespace '{key.namespace}'{owner}"


async def get_working_memory(
    store: WorkingMemoryStore, principal: Principal, session_id: str, query: WindowQuery
) -> WorkingMemory:
    budget = message_budget(query)
    key = session_key(session_id, query, principal)
    document = await store.read(key, now())
    if document is None:
        raise NotFound(f"No working memory for {_describe(key)}.")
    memory = WorkingMemory.model_validate_json(document)
    if len(memory.messages) > budget.max_messages or budget.max_tokens is not None:
        memory.messages, memory.tokens = fit_messages(memory.messages, budget, memory.context)
    return memory


def _merged_scope(
    session_id: str, body: WorkingMemoryInput | AppendMessagesInput, query: WindowQuery
) -> SessionScope:
    """The body may repeat the session's identity; it must agree with the URL and query."""
    if body.session_id is not None and body.session_id != session_id:
        raise InvalidInput("session_id", f"body says '{body.session_id}' but the URL says '{session_id}'")
    for field in ("namespace", "user_id"):
        in_body, in_query = getattr(body, field), getattr(query, field)
        if in_body and in_query and in_body != in_query:
            raise InvalidInput(field, f"body says '{in_body}' but the query says '{in_query}'")
    return SessionScope(namespace=body.namespace or query.namespace, user_id=body.user_id or query.user_id)


# RFC 9110's If-Match: "*" or a list of entity tags (a bare version number is taken too).
_ENTITY_TAG = r'(?:W/)?"[^"\x00-\x20\x7f]*"'
_IF_MATCH = re.compile(rf"\*|{_ENTITY_TAG}(?:[ \t]*,[ \t]*{_ENTITY_TAG})*|[0-9]+")
NO_VERSION = "-1"


def parse_if_match(header: str | None) -> str:
    """The version an `If-Match` header asks for: "" (none), "*", or the version number.

    A list, or an entity tag this server never issued, can match no version: NO_VERSION.
    A header that is not an entity tag at all is refused. Weak tags compare as strong ones:
    a proxy that compresses answers may weaken the ETag it passes on.
    """
    if header is None or not header.strip():
        return ""
    value = header.strip()
    if not _IF_MATCH.fullmatch(value):
        raise InvalidInput("If-Match", 'must be "*" or the ETag of a GET, such as "3" (quotes included)')
    if value == "*":
        return value
    tag = value.removeprefix("W/").strip('"')
    return tag if ascii_digits(tag) else NO_VERSION


def refuse_if_match_on_append(header: str | None) -> None:
    """An append takes no If-Match (it would be ignored): it never loses another client's write."""
    if header is not None and header.strip():
        raise InvalidInput(
            "If-Match",
            "an append takes none: it never loses what other clients add. To write only at a "
            "version, replace the session with PUT and If-Match.",
        )


_STALE_ADVICE = {
    "written": "Read it again, apply the change and retry, or append with POST .../messages.",
    "deleted": "Read it again to see what changed.",
}


def _stale(key: SessionKey, stale: StaleVersion, if_match: str, done: str) -> PreconditionFailed:
    if not stale.current:
        return PreconditionFailed(f"If-Match: there is no {_describe(key)}; nothing was {done}.")
    wanted = "the entity tag If-Match names" if if_match == NO_VERSION else f"version {if_match}"
    return PreconditionFailed(
        f"If-Match: {_describe(key)} is at version {stale.current}, not {wanted}; nothing was "
        f"{done}. {_STALE_ADVICE[done]}"
    )


async def put_working_memory(
    store: WorkingMemoryStore,
    principal: Principal,
    session_id: str,
    body: WorkingMemoryInput,
    query: WindowQuery,
    work: BackgroundWork,
    if_match: str = "",
) -> WorkingMemoryPutResponse:
    """Replace the session whole (only at version `if_match`, when given), then queue what it
    needs: a summary when it outgrows the client's window, promotion of new structured
    memories, extraction from new messages."""
    budget = message_budget(query)
    key = session_key(session_id, _merged_scope(session_id, body, query), principal)
    refuse_repeated_ids((message.id for message in body.messages), "messages")
    for record in body.memories:
        # Only the server knows what was promoted: a client's copy may have a changed text.
        record.persisted_at = None
        record.session_id = record.session_id or key.session_id
        record.namespace = principal.check_namespace(record.namespace or key.namespace)
        record.user_id = principal.check_user(record.user_id or key.user_id)
    refuse_repeated_ids(((r.namespace, r.user_id, r.id) for r in body.memories), "memories")
    timestamp = now()
    memory = WorkingMemoryPutResponse(
        session_id=key.session_id,
        namespace=key.namespace,
        user_id=key.user_id,
        messages=body.messages,
        memories=body.memories,
        context=body.context,
        data=body.data,
        tokens=count_messages(m.content for m in body.messages) + count_text(body.context or ""),
        ttl_seconds=body.ttl_seconds,
        long_term_memory_strategy=body.long_term_memory_strategy,
        created_at=timestamp,
        updated_at=timestamp,
        last_accessed=timestamp,
    )
    document = memory.model_dump_json(exclude={"summarization"}).encode()
    outcome = await store.write(key, document, timestamp, body.ttl_seconds, if_match)
    if isinstance(outcome, StaleVersion):
        raise _stale(key, outcome, if_match, "written")
    memory.version = outcome.version
    if outcome.created_at is not None:
        memory.created_at = outcome.created_at
    for message in memory.messages:
        if message.id in outcome.extracted:
            message.discrete_memory_extracted = "t"
    for record in memory.memories:
        record.persisted_at = outcome.persisted.get(record.id, record.persisted_at)
    await _queue_work(memory, key, budget, work, outcome.unextracted > 0, outcome.unpersisted > 0)
    return memory


async def append_messages(
    store: WorkingMemoryStore,
    principal: Principal,
    session_id: str,
    body: AppendMessagesInput,
    query: WindowQuery,
    work: BackgroundWork,
) -> WorkingMemoryPutResponse:
    """Add messages to the end of the session in one atomic step (creating it if needed), so
    concurrent appends lose nothing; then queue the same work as a PUT. The answer is the
    session as a GET with the same window returns it."""
    budget = message_budget(query)
    key = session_key(session_id, _merged_scope(session_id, body, query), principal)
    first: dict[str, Message] = {}
    for message in body.messages:  # an id sent twice counts once, where it first appears
        first.setdefault(message.id, message)
    unique = list(first.values())
    timestamp = now()
    fresh = WorkingMemory(
        session_id=key.session_id,
        namespace=key.namespace,
        user_id=key.user_id,
        messages=unique,
        tokens=count_messages(m.content for m in unique),
        ttl_seconds=body.ttl_seconds,
        created_at=timestamp,
        updated_at=timestamp,
        last_accessed=timestamp,
    )
    payload = [(m.id, m.model_dump_json().encode(), count_messages([m.content])) for m in unique]
    outcome = await store.append(
        key, fresh.model_dump_json().encode(), payload, timestamp, MAX_MESSAGES, body.ttl_seconds
    )
    if isinstance(outcome, SessionFull):
        raise InvalidInput(
            "messages",
            f"{_describe(key)} holds {outcome.held} messages; appending {len(unique)} would pass "
            f"the limit of {MAX_MESSAGES}",
        )
    memory = WorkingMemoryPutResponse.model_validate_json(outcome.document)
    # Appended messages go to the end; ids the session held already were skipped.
    added = memory.messages[len(memory.messages) - outcome.added :] if outcome.added else []
    await _queue_work(memory, key, budget, work, bool(unextracted(added)), False)
    if len(memory.messages) > budget.max_messages or budget.max_tokens is not None:
        memory.messages, memory.tokens = fit_messages(memory.messages, budget, memory.context)
    return memory


async def _queue_work(
    memory: WorkingMemoryPutResponse,
    key: SessionKey,
    budget: MessageBudget,
    work: BackgroundWork,
    extract: bool,
    promote: bool,
) -> None:
    """Queue a summary when the session outgrew the window (noted on `memory`), promotion
    of its unpersisted memories (`promote`) and extraction of new messages (`extract`)."""
    reason = summary_reason(memory.messages, memory.context, budget)
    if reason:
        model_on, model_detail = chat_model_status()
        memory.summarization = (
            SummarizationQueued(job_id=await work.summary(key, budget), reason=reason)
            if model_on
            else SummarizationQueued(
                status="disabled", reason=reason, detail=f"summaries need a chat model: {model_detail}"
            )
        )
    if promote:
        await work.promotion(key)
    if extract and extraction_enabled():
        await work.extraction(key)


def unextracted(messages: list[Message]) -> list[Message]:
    """The messages long-term memories were not extracted from yet (system messages never are)."""
    return [m for m in messages if m.discrete_memory_extracted != "t" and m.role != "system"]


def foldable(fold: list[Message]) -> tuple[list[Message], list[Message]]:
    """What a summary may fold now out of `fold`, and the messages it waits for.

    With extraction on, a message leaves the session only once long-term memories were
    extracted from it: the summary stops before the first message still waiting (it is
    queued again when that extraction is done)."""
    waiting = unextracted(fold)
    return (fold[: fold.index(waiting[0])] if waiting else fold), waiting


def unpersisted(memory: WorkingMemory) -> list[MemoryRecord]:
    """The session's structured memories not yet promoted to long-term memory."""
    return [record for record in memory.memories if record.persisted_at is None]


def already_stored(record: MemoryRecord, stored: bytes | None) -> bool:
    """Whether long-term memory holds `record` under its id with the same text and owner
    (then promotion leaves it alone; a changed text is written again)."""
    if stored is None:
        return False
    found = MemoryRecord.model_validate_json(stored)
    return found.memory_hash == memory_hash(record.text, record.namespace, record.user_id)


def extraction_enabled() -> bool:
    """Extraction runs when it is switched on and a chat model is configured (no network check)."""
    return bool(settings.ENABLE_DISCRETE_MEMORY_EXTRACTION) and chat_model_status()[0]


async def delete_working_memory(
    store: WorkingMemoryStore,
    principal: Principal,
    session_id: str,
    scope: SessionScope,
    if_match: str = "",
) -> bool:
    """Whether the session existed; with `if_match`, it is deleted only at that version."""
    key = session_key(session_id, scope, principal)
    outcome = await store.delete(key, if_match)
    if isinstance(outcome, StaleVersion):
        raise _stale(key, outcome, if_match, "deleted")
    return outcome


async def list_sessions(
    store: WorkingMemoryStore, principal: Principal, query: SessionListQuery
) -> tuple[list[str], int]:
    """All sessions, or those of a namespace or of a user; confined to what the caller may see."""
    user_id = principal.check_user(query.user_id)
    namespace = query.namespace and principal.check_namespace(query.namespace)
    if namespace is None and (user_id or principal.namespaces is not None):
        namespace = principal.default_namespace()
    return await store.list_sessions(namespace, user_id, query.offset, query.limit, now())
