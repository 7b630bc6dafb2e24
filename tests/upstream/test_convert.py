"""Our service models to and from the /v1 shapes: ISO date-times in UTC, capped scores, defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from longterm_app.records import MemoryRecord
from longterm_app.schemas import MemoryHit, SearchResult
from longterm_app.strategies import MemoryStrategy
from memoryserver.errors import InvalidInput
from sessions_app.schemas import Message, WorkingMemory
from summary_views_app.schemas import PartitionResult, SummaryView
from upstream.convert import (
    append_input,
    hit_v1,
    memory_payload,
    memory_records,
    partition_v1,
    record_v1,
    refuse_pinned,
    results_v1,
    summary_view_v1,
    working_memory_input,
    working_memory_v1,
)
from upstream.schemas import AppendMessagesV1, MemoryIn, UpdateWorkingMemory

JAN_1_2025 = 1735689600.0
JAN_1_2025_UTC = datetime(2025, 1, 1, tzinfo=UTC)
HOUR = 3600.0


def memory_in(**fields: Any) -> MemoryIn:
    return MemoryIn.model_validate({"text": "Alice likes tea", **fields})


def put_body(**fields: Any) -> UpdateWorkingMemory:
    return UpdateWorkingMemory.model_validate(fields)


def refused(call: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as error:
        call()
    return [(problem.field, problem.message) for problem in error.value.problems]


# Records and hits out: epoch seconds become ISO date-times in UTC.


def test_a_records_times_go_out_as_utc_date_times():
    record = MemoryRecord(
        text="x",
        created_at=JAN_1_2025,
        updated_at=JAN_1_2025 + HOUR,
        last_accessed=JAN_1_2025 + 2 * HOUR,
        event_date=JAN_1_2025 - HOUR,
        persisted_at=JAN_1_2025 + 0.5,
    )
    out = record_v1(record)
    assert out.created_at == JAN_1_2025_UTC and out.created_at.utcoffset() == timedelta(0)
    assert out.updated_at == JAN_1_2025_UTC + timedelta(hours=1)
    assert out.last_accessed == JAN_1_2025_UTC + timedelta(hours=2)
    assert out.event_date == JAN_1_2025_UTC - timedelta(hours=1)
    assert out.persisted_at == JAN_1_2025_UTC + timedelta(milliseconds=500)


def test_a_records_missing_optional_times_stay_null():
    out = record_v1(MemoryRecord(text="x"))
    assert (out.event_date, out.persisted_at) == (None, None)


def test_a_records_own_fields_go_out_unchanged():
    record = MemoryRecord(
        id="m-1",
        text="Alice flew to Paris",
        memory_type="episodic",
        session_id="s",
        user_id="alice",
        namespace="travel",
        topics=["trips"],
        entities=["Paris"],
        access_count=3,
        extracted_from=["msg-1"],
        discrete_memory_extracted="t",
    )
    out = record_v1(record).model_dump()
    for name in ("id", "text", "memory_type", "session_id", "user_id", "namespace", "topics", "entities"):
        assert out[name] == getattr(record, name), name
    assert (out["access_count"], out["extracted_from"], out["discrete_memory_extracted"]) == (
        3,
        ["msg-1"],
        "t",
    )


def test_times_sent_in_any_offset_come_back_as_the_same_instants_in_utc():
    sent = {
        "created_at": "2025-01-01T02:00:00+02:00",
        "updated_at": JAN_1_2025 + HOUR,
        "last_accessed": "2025-01-01T03:00:00Z",
        "event_date": "2024-12-31T19:00:00-05:00",
    }
    (record,) = memory_records([memory_in(**sent)], "semantic", "t")
    out = record_v1(record)
    assert out.created_at == out.event_date == JAN_1_2025_UTC
    assert out.updated_at == JAN_1_2025_UTC + timedelta(hours=1)
    assert out.last_accessed == JAN_1_2025_UTC + timedelta(hours=3)
    assert {moment.tzinfo for moment in (out.created_at, out.event_date, out.last_accessed)} == {UTC}


def test_a_hit_keeps_its_records_fields_and_times():
    hit = hit_v1(
        MemoryHit(text="tea", topics=["drinks"], created_at=JAN_1_2025, dist=0.1, score=0.9), "semantic"
    )
    assert (hit.text, hit.topics, hit.created_at) == ("tea", ["drinks"], JAN_1_2025_UTC)


def test_a_keyword_hit_scoring_above_1_is_capped_and_has_distance_0():
    hit = hit_v1(MemoryHit(text="x", dist=None, score=1.7), "keyword")
    assert (hit.score, hit.dist) == (1.0, 0.0)


def test_a_hit_without_distance_and_a_negative_score_is_as_far_as_can_be():
    hit = hit_v1(MemoryHit(text="x", dist=None, score=-0.3), "hybrid")
    assert (hit.score, hit.dist) == (0.0, 1.0)


def test_a_negative_distance_is_capped_at_0():
    assert hit_v1(MemoryHit(text="x", dist=-1e-7, score=1.0), "semantic").dist == 0.0


def test_results_for_a_query_are_scored_in_its_mode_and_keep_the_page():
    hits = [MemoryHit(text="a", dist=0.2, score=0.8), MemoryHit(text="b", dist=None, score=0.4)]
    out = results_v1(SearchResult(memories=hits, total=7, next_offset=2), "tea", "hybrid")
    assert [(hit.score, hit.score_type) for hit in out.memories] == [(0.8, "hybrid"), (0.4, "hybrid")]
    assert (out.total, out.next_offset) == (7, 2)


def test_results_of_a_blank_query_are_a_listing_without_scores():
    hits = [MemoryHit(text="a", dist=None, score=0.0)]
    out = results_v1(SearchResult(memories=hits, total=1), "   ", "semantic")
    assert [(hit.score, hit.score_type, hit.dist) for hit in out.memories] == [(None, None, 1.0)]
    assert out.next_offset is None


# Memories in: upstream's defaults depend on the call, pinning is refused.


def test_memories_created_in_long_term_memory_take_the_calls_type_and_extraction_flag():
    (record,) = memory_records([memory_in()], "semantic", "t")
    assert (record.memory_type, record.discrete_memory_extracted) == ("semantic", "t")


def test_memories_put_in_working_memory_default_to_type_message_not_extracted():
    (record,) = working_memory_input(put_body(memories=[{"text": "x"}])).memories
    assert (record.memory_type, record.discrete_memory_extracted) == ("message", "f")


def test_a_memorys_own_type_and_extraction_flag_win_over_the_calls_defaults():
    payload = memory_payload(
        memory_in(memory_type="episodic", discrete_memory_extracted="f"), "memories.0", "semantic", "t"
    )
    assert (payload["memory_type"], payload["discrete_memory_extracted"]) == ("episodic", "f")


def test_a_memorys_unset_fields_are_left_to_the_servers_defaults():
    payload = memory_payload(memory_in(pinned=False), "memories.0", "semantic", "t")
    assert payload == {"text": "Alice likes tea", "memory_type": "semantic", "discrete_memory_extracted": "t"}


def test_a_pinned_memory_is_refused_at_its_path_in_the_batch():
    memories = [memory_in(), memory_in(pinned=None), memory_in(pinned=True)]
    assert refused(lambda: memory_records(memories, "semantic", "t")) == [
        ("memories.2.pinned", "pinning memories is not supported by this server; omit it")
    ]


def test_a_pinned_memory_in_working_memory_is_refused_at_its_path():
    body = put_body(memories=[{"text": "a"}, {"text": "b", "pinned": True}])
    assert [field for field, _ in refused(lambda: working_memory_input(body))] == ["memories.1.pinned"]


def test_refuse_pinned_lets_unpinned_and_unset_through():
    refuse_pinned("pinned", False)
    refuse_pinned("pinned", None)
    assert [field for field, _ in refused(lambda: refuse_pinned("pinned", True))] == ["pinned"]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"text": ""}, "memories.1.text"),
        ({"id": "has space"}, "memories.1.id"),
        ({"topics": ["ok", ""]}, "memories.1.topics.1"),
        ({"extracted_from": ["bad id"]}, "memories.1.extracted_from.0"),
    ],
)
def test_an_invalid_memory_is_refused_at_its_path_in_the_batch(fields, path):
    memories = [memory_in(), memory_in(**fields)]
    assert [field for field, _ in refused(lambda: memory_records(memories, "semantic", "t"))] == [path]


# Working memory in: a PUT body and an append.


@pytest.mark.parametrize(("sent", "kept"), [(0, None), (None, None), (60, 60)])
def test_a_ttl_of_0_means_the_session_never_expires(sent, kept):
    assert working_memory_input(put_body(ttl_seconds=sent)).ttl_seconds == kept
    assert (
        append_input(
            AppendMessagesV1(messages=[{"role": "user", "content": "x"}], ttl_seconds=sent)
        ).ttl_seconds
        == kept
    )


def test_a_negative_ttl_is_refused_by_name():
    assert [field for field, _ in refused(lambda: working_memory_input(put_body(ttl_seconds=-1)))] == [
        "ttl_seconds"
    ]


def test_a_messages_iso_time_is_kept_as_epoch_seconds_and_a_missing_id_is_made():
    body = put_body(
        messages=[
            {"role": "user", "content": "hi", "created_at": "2025-01-01T00:00:00Z"},
            {"role": "assistant", "content": "hello"},
        ]
    )
    first, second = working_memory_input(body).messages
    assert first.created_at == JAN_1_2025
    assert first.id and second.id and first.id != second.id


def test_a_message_with_a_role_our_sessions_do_not_know_is_refused_at_its_path():
    body = put_body(messages=[{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}])
    assert [field for field, _ in refused(lambda: working_memory_input(body))] == ["messages.1.role"]


def test_an_appended_messages_fields_and_scope_are_kept():
    body = AppendMessagesV1.model_validate(
        {
            "messages": [{"role": "user", "content": "hi", "id": "m-1", "discrete_memory_extracted": "t"}],
            "namespace": "chat",
            "user_id": "alice",
        }
    )
    ours = append_input(body)
    (message,) = ours.messages
    assert (message.id, message.content, message.discrete_memory_extracted) == ("m-1", "hi", "t")
    assert (ours.namespace, ours.user_id) == ("chat", "alice")


def test_an_append_for_an_invalid_user_is_refused_by_name():
    body = AppendMessagesV1.model_validate({"messages": [{"role": "user", "content": "x"}], "user_id": "a b"})
    assert [field for field, _ in refused(lambda: append_input(body))] == ["user_id"]


def test_a_custom_strategy_takes_its_prompt_from_upstreams_config():
    body = put_body(
        long_term_memory_strategy={"strategy": "custom", "config": {"custom_prompt": "Keep dates."}}
    )
    strategy = working_memory_input(body).long_term_memory_strategy
    assert strategy == MemoryStrategy(strategy="custom", custom_prompt="Keep dates.")


def test_a_custom_strategy_without_a_prompt_is_refused_with_the_rule():
    body = put_body(long_term_memory_strategy={"strategy": "custom", "config": {}})
    assert refused(lambda: working_memory_input(body)) == [
        ("long_term_memory_strategy", "strategy 'custom' needs a custom_prompt")
    ]


def test_a_put_without_a_strategy_takes_the_servers_default():
    assert working_memory_input(put_body()).long_term_memory_strategy == MemoryStrategy()


# Working memory, views and partitions out.


def session(**fields: Any) -> WorkingMemory:
    times = {
        "created_at": JAN_1_2025,
        "updated_at": JAN_1_2025 + HOUR,
        "last_accessed": JAN_1_2025 + 2 * HOUR,
    }
    return WorkingMemory.model_validate({"session_id": "s", "namespace": "chat", **times, **fields})


def test_a_working_memorys_times_and_its_messages_times_go_out_in_utc():
    memory = session(messages=[Message(role="user", content="hi", created_at=JAN_1_2025 + 60)])
    out = working_memory_v1(memory, (None, None))
    assert (out.created_at, out.updated_at) == (JAN_1_2025_UTC, JAN_1_2025_UTC + timedelta(hours=1))
    assert out.last_accessed == JAN_1_2025_UTC + timedelta(hours=2)
    assert out.messages[0].created_at == JAN_1_2025_UTC + timedelta(minutes=1)


def test_a_working_memory_carries_the_percentages_it_is_given():
    out = working_memory_v1(session(), (12.5, 25.0))
    assert (out.context_percentage_total_used, out.context_percentage_until_summarization) == (12.5, 25.0)
    unknown = working_memory_v1(session(), (None, None))
    assert (unknown.context_percentage_total_used, unknown.context_percentage_until_summarization) == (
        None,
        None,
    )


def test_a_custom_strategy_goes_out_with_its_prompt_in_upstreams_config():
    strategy = MemoryStrategy(strategy="custom", custom_prompt="Keep dates.")
    out = working_memory_v1(session(long_term_memory_strategy=strategy), (None, None))
    assert (out.long_term_memory_strategy.strategy, out.long_term_memory_strategy.config) == (
        "custom",
        {"custom_prompt": "Keep dates."},
    )
    assert working_memory_v1(session(), (None, None)).long_term_memory_strategy.config == {}


def test_a_put_body_survives_the_round_trip_through_our_working_memory():
    body = put_body(
        messages=[{"role": "user", "content": "hi", "id": "m-1", "created_at": "2025-01-01T00:00:00Z"}],
        memories=[{"text": "note", "id": "n-1", "created_at": JAN_1_2025}],
        context="earlier",
        data={"k": [1, 2]},
        ttl_seconds=0,
        long_term_memory_strategy={"strategy": "summary"},
    )
    ours = working_memory_input(body)
    stored = session(**ours.model_dump(exclude={"session_id", "namespace", "user_id"}))
    out = working_memory_v1(stored, (None, None))
    assert [(m.id, m.content, m.created_at) for m in out.messages] == [("m-1", "hi", JAN_1_2025_UTC)]
    assert [(m.id, m.text, m.memory_type, m.created_at) for m in out.memories] == [
        ("n-1", "note", "message", JAN_1_2025_UTC)
    ]
    assert (out.context, out.data, out.ttl_seconds) == ("earlier", {"k": [1, 2]}, None)
    assert out.long_term_memory_strategy.strategy == "summary"


def test_a_summary_view_goes_out_without_its_creation_time():
    view = SummaryView(
        id="v-1",
        created_at=JAN_1_2025,
        source="long_term",
        group_by=["user_id"],
        filters={"namespace": "chat"},
        time_window_days=7,
        prompt="Be brief.",
    )
    out = summary_view_v1(view)
    assert out.model_dump() == view.model_dump(exclude={"created_at"})


def test_a_partitions_computation_time_goes_out_in_utc():
    result = PartitionResult(
        view_id="v-1",
        group={"user_id": "alice"},
        summary="Likes tea.",
        memory_count=3,
        computed_at=JAN_1_2025,
    )
    out = partition_v1(result)
    assert out.computed_at == JAN_1_2025_UTC and out.computed_at.tzinfo == UTC
    assert (out.view_id, out.group, out.summary, out.memory_count) == (
        "v-1",
        {"user_id": "alice"},
        "Likes tea.",
        3,
    )
