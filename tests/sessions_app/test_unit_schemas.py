"""Validation rules of the working-memory contract, checked on the models themselves: which
input is refused and which field the error names (the HTTP tests cover the common cases)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from sessions_app.schemas import (
    MAX_MESSAGES,
    MAX_TTL_SECONDS,
    AppendMessagesInput,
    Message,
    SessionListQuery,
    WindowQuery,
    WorkingMemoryInput,
)


def refused_fields(model: type[BaseModel], data: dict[str, Any]) -> list[str]:
    """The fields a validation error names, as the API reports them ("messages.0.role")."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [".".join(str(part) for part in error["loc"]) for error in caught.value.errors()]


def hello() -> dict[str, str]:
    return {"role": "user", "content": "hello"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"role": "robot", "content": "x"}, "role"),
        ({"content": "x"}, "role"),
        ({"role": "user", "content": "x" * 1_000_001}, "content"),
        ({"role": "user", "content": "x", "id": ""}, "id"),
        ({"role": "user", "content": "x", "id": "a/b"}, "id"),
        ({"role": "user", "content": "x", "discrete_memory_extracted": "yes"}, "discrete_memory_extracted"),
        ({"role": "user", "content": "x", "created_at": True}, "created_at"),
    ],
)
def test_a_bad_message_names_the_field_at_fault(data, field):
    assert refused_fields(Message, data) == [field]


def test_a_message_gets_its_own_id_and_time_and_starts_unextracted():
    first, second = Message.model_validate(hello()), Message.model_validate(hello())
    assert first.id != second.id
    assert first.created_at > 0 and first.discrete_memory_extracted == "f"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"ttl_seconds": MAX_TTL_SECONDS + 1}, "ttl_seconds"),
        ({"messages": [hello()] * (MAX_MESSAGES + 1)}, "messages"),
        ({"memories": [{"text": "x"}] * (MAX_MESSAGES + 1)}, "memories"),
        ({"context": "x" * 1_000_001}, "context"),
        ({"session_id": ""}, "session_id"),
        ({"long_term_memory_strategy": {"strategy": "psychic"}}, "long_term_memory_strategy.strategy"),
    ],
)
def test_a_bad_working_memory_names_the_field_at_fault(data, field):
    assert field in refused_fields(WorkingMemoryInput, data)


def test_a_working_memory_ignores_what_only_the_server_computes():
    body = WorkingMemoryInput.model_validate(
        {"messages": [hello()], "version": 99, "tokens": 5, "created_at": 1, "summarization": {}}
    )
    assert set(body.model_dump()) == set(WorkingMemoryInput.model_fields)
    assert body.ttl_seconds is None and body.messages[0].content == "hello"


def test_the_longest_ttl_is_accepted():
    assert WorkingMemoryInput(ttl_seconds=MAX_TTL_SECONDS).ttl_seconds == MAX_TTL_SECONDS
    assert AppendMessagesInput(messages=[Message(**hello())], ttl_seconds=1).ttl_seconds == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [hello()] * (MAX_MESSAGES + 1)}, "messages"),
        ({"messages": [hello()], "ttl_seconds": 0}, "ttl_seconds"),
        ({"messages": [hello()], "ttl_seconds": MAX_TTL_SECONDS + 1}, "ttl_seconds"),
        ({"messages": [hello()], "namespace": "a b"}, "namespace"),
        ({"messages": [hello()], "user_id": "x" * 201}, "user_id"),
        ({"messages": [{"role": "user"}]}, "messages.0.content"),
    ],
)
def test_a_bad_append_names_the_field_at_fault(data, field):
    assert refused_fields(AppendMessagesInput, data) == [field]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"window_size": MAX_MESSAGES + 1}, "window_size"),
        ({"context_window_max": 0}, "context_window_max"),
        ({"context_window_max": 100_000_001}, "context_window_max"),
        ({"model_name": ""}, "model_name"),
        ({"model_name": "m" * 201}, "model_name"),
        ({"namespace": "ns/1"}, "namespace"),
    ],
)
def test_a_bad_window_names_the_parameter_at_fault(data, field):
    assert refused_fields(WindowQuery, data) == [field]


def test_query_parameters_arrive_as_text_and_are_converted():
    query = WindowQuery.model_validate({"window_size": "7", "context_window_max": "300", "other": "x"})
    assert (query.window_size, query.context_window_max) == (7, 300)


@pytest.mark.parametrize(
    ("data", "field"),
    [({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"offset": 10_000_001}, "offset")],
)
def test_a_bad_listing_page_names_the_parameter_at_fault(data, field):
    assert refused_fields(SessionListQuery, data) == [field]


def test_a_listing_starts_at_the_first_page_of_ten():
    query = SessionListQuery()
    assert (query.limit, query.offset, query.namespace, query.user_id) == (10, 0, None, None)
