"""Summary views without I/O: definitions, partition filters and grouping, chunked summaries."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from longterm_app.queries import filter_query
from longterm_app.records import MemoryRecord
from memoryserver.repositories.llm_usage import usage_key
from providers.llm import ChatMessage, ChatModel, RawReply
from summary_views_app.repository import partition_key
from summary_views_app.schemas import SummaryView, SummaryViewSpec, checked_group
from summary_views_app.summarize import EMPTY_SUMMARY, partitions, summarize, view_filters

DAY = 86_400


def view(**spec) -> SummaryView:
    return SummaryView(id="v1", created_at=0, **{"source": "long_term", "group_by": ["user_id"], **spec})


class ScriptedModel(ChatModel):
    """A chat model that answers from a list and records what it was asked (no network)."""

    provider = "scripted"

    def __init__(self, *answers: str) -> None:
        super().__init__("scripted")
        self.answers = list(answers)
        self.prompts: list[list[ChatMessage]] = []

    def _call(self, messages, schema, max_tokens, temperature) -> RawReply:
        self.prompts.append(messages)
        return RawReply(self.answers.pop(0))


def test_partition_filters_combine_fixed_filters_group_and_time_window():
    filters = view_filters(
        view(filters={"namespace": "chat"}, time_window_days=2), {"user_id": "ana"}, 10 * DAY
    )
    assert filters.namespace is not None and filters.namespace.eq == "chat"
    assert filters.user_id is not None and filters.user_id.eq == "ana"
    assert filters.created_at is not None and filters.created_at.gte == 8 * DAY
    assert filter_query(view_filters(view(), None, 0)) == "*"


def test_groups_must_name_exactly_the_views_fields():
    two = view(group_by=["user_id", "memory_type"])
    assert checked_group(two, {"memory_type": "episodic", "user_id": "a"}) == {
        "user_id": "a",
        "memory_type": "episodic",
    }
    for group in (
        {"user_id": "a"},
        {"user_id": "a", "memory_type": "dream"},
        {"user_id": "a b", "memory_type": "semantic"},
    ):
        with pytest.raises(ValueError):
            checked_group(two, group)


def test_views_refuse_unsupported_definitions():
    with pytest.raises(ValidationError, match="working_memory"):
        SummaryViewSpec(source="working_memory")
    with pytest.raises(ValidationError):
        SummaryViewSpec.model_validate({"source": "long_term", "group_by": ["topics"]})
    assert SummaryViewSpec.model_validate({"source": "long_term", "filters": None}).filters == {}


def test_records_fall_into_partitions_by_their_group_values():
    records = [
        MemoryRecord(id="1", text="a", user_id="ana"),
        MemoryRecord(id="2", text="b", user_id="bob"),
        MemoryRecord(id="3", text="c", user_id="ana"),
        MemoryRecord(id="4", text="d"),
    ]
    groups = partitions(view(), records)
    assert {key: [r.id for r in members] for key, (_, members) in groups.items()} == {
        partition_key({"user_id": "ana"}): ["1", "3"],
        partition_key({"user_id": "bob"}): ["2"],
    }
    assert list(partitions(view(group_by=[]), records)) == [partition_key({})]
    assert partition_key({"b": "1", "a": "2"}) == partition_key({"a": "2", "b": "1"})


def test_large_partitions_are_summarised_in_chunks_that_carry_the_summary_on(redis_client):
    records = [MemoryRecord(id=str(i), text=" ".join(["word"] * 500), event_date=0) for i in range(30)]
    model = ScriptedModel("first", "second", "third")
    assert summarize(model, view(prompt="Be brief."), {"user_id": "ana"}, records) == "third"
    assert len(model.prompts) == 3
    assert model.prompts[0][0].content.startswith("Be brief.")
    assert "Summary so far" not in model.prompts[0][1].content
    assert "Summary so far (update it with the new memories):\nfirst" in model.prompts[1][1].content
    assert "(on 1970-01-01)" in model.prompts[0][1].content
    redis_client.delete(usage_key("summary_view"))  # token accounting, written by every model call


def test_an_empty_partition_needs_no_model():
    assert summarize(ScriptedModel(), view(), {"user_id": "x"}, []) == EMPTY_SUMMARY
