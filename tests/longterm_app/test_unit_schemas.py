"""Request contracts of long-term memory, validated the way every transport validates them
(memoryserver.validation.parse): each refusal names the field path and the rule it broke."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel

from longterm_app.records import MemoryRecord, memory_hash
from longterm_app.schemas import (
    CompactRequest,
    CreateMemoriesRequest,
    MemoryPatch,
    PolicyForgetRequest,
    SearchRequest,
)
from longterm_app.strategies import MemoryStrategy
from memoryserver.errors import InvalidInput
from memoryserver.fields import now
from memoryserver.validation import parse

ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


def refusal(model: type[BaseModel], data: dict[str, Any]) -> dict[str, str]:
    """{field path: message} of the problems found in `data`."""
    with pytest.raises(InvalidInput) as caught:
        parse(model, data)
    return {problem.field: problem.message for problem in caught.value.problems}


# Search requests.


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"offset": 10_001}, "offset", "less than or equal to 10000"),
        ({"hybrid_alpha": -0.1}, "hybrid_alpha", "greater than or equal to 0"),
        ({"recency_half_life_created_days": 0}, "recency_half_life_created_days", "greater than 0"),
        ({"text": "x" * 10_001}, "text", "at most 10000 characters"),
    ],
)
def test_a_search_parameter_out_of_its_range_is_refused_naming_it(body, field, words):
    assert words in refusal(SearchRequest, body)[field]


def test_a_tag_filter_without_an_operator_is_refused_listing_the_operators():
    message = refusal(SearchRequest, {"topics": {}})["topics"]
    assert message == "needs one of the operators eq, ne, any, all, none, startswith"


def test_an_unknown_filter_operator_is_refused_naming_its_path():
    assert (
        "Extra inputs are not permitted"
        in refusal(SearchRequest, {"user_id": {"like": "a%"}})["user_id.like"]
    )


def test_a_time_filter_that_is_no_time_names_the_operator():
    problems = refusal(SearchRequest, {"event_date": {"gte": "next week"}})
    assert problems == {"event_date.gte": "must be epoch seconds or an ISO-8601 date-time"}


def test_time_filters_accept_iso_dates_as_epoch_seconds():
    request = parse(SearchRequest, {"created_at": {"gte": "2024-01-01T00:00:00Z"}})
    assert request.created_at is not None and request.created_at.gte == 1_704_067_200.0


def test_every_problem_of_a_request_is_reported_not_only_the_first():
    problems = refusal(SearchRequest, {"limit": 0, "offset": -1, "search_mode": "x"})
    assert set(problems) == {"limit", "offset", "search_mode"}


# Creates and edits.


def test_a_memory_id_outside_the_identifier_alphabet_is_refused_with_the_rule():
    problems = refusal(CreateMemoriesRequest, {"memories": [{"id": "a/../b", "text": "x"}]})
    assert problems == {"memories.0.id": "must be 1-200 characters: letters, digits and _ . : @ -"}


def test_a_topic_with_a_control_character_is_refused():
    problems = refusal(CreateMemoriesRequest, {"memories": [{"text": "x", "topics": ["ok", "bad\x00"]}]})
    assert problems == {"memories.0.topics.1": "must not contain control characters"}


def test_a_patch_may_not_change_server_owned_fields():
    assert set(refusal(MemoryPatch, {"id": "other", "namespace": "elsewhere"})) == {"id", "namespace"}


# Forgetting and compaction.


def test_a_retention_policy_with_a_negative_age_is_refused_naming_the_policy_field():
    problems = refusal(PolicyForgetRequest, {"policy": {"max_age_days": -1}})
    assert "greater than or equal to 0" in problems["policy.max_age_days"]


def test_a_pinned_id_that_is_no_identifier_is_refused_by_position():
    problems = refusal(PolicyForgetRequest, {"policy": {}, "pinned_ids": ["fine", "not fine"]})
    assert list(problems) == ["pinned_ids.1"]


def test_a_policy_forget_is_a_dry_run_unless_asked_otherwise():
    assert parse(PolicyForgetRequest, {"policy": {"max_age_days": 1}}).dry_run is True


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"distance_threshold": 0}, "distance_threshold", "greater than 0"),
        ({"namespace": "a b"}, "namespace", "must be 1-200 characters"),
    ],
)
def test_a_bad_compaction_request_is_refused_naming_the_field(body, field, words):
    assert words in refusal(CompactRequest, body)[field]


# The memory record.


def test_a_new_record_gets_a_ulid_and_the_current_time():
    before = now()
    record = MemoryRecord(text="Alice likes tea")
    assert ULID.fullmatch(record.id)
    times = (record.created_at, record.updated_at, record.last_accessed)
    assert all(before <= moment <= now() for moment in times)
    assert (record.memory_type, record.access_count, record.discrete_memory_extracted) == ("semantic", 0, "f")


def test_a_record_refuses_a_negative_access_count():
    assert (
        "greater than or equal to 0"
        in refusal(MemoryRecord, {"text": "x", "access_count": -1})["access_count"]
    )


def test_the_content_hash_ignores_case_and_spacing():
    assert memory_hash("Alice  likes\nTEA ", "n", "u") == memory_hash("alice likes tea", "n", "u")


def test_the_content_hash_tells_owners_apart():
    text = "Alice likes tea"
    hashes = {memory_hash(text, "n", "u"), memory_hash(text, "n", "v"), memory_hash(text, "m", "u")}
    assert len(hashes) == 3
    # Fields are separated, so moving characters between namespace and user makes another owner.
    assert memory_hash(text, "ab", None) != memory_hash(text, "a", "b")


# Extraction strategies.


def test_a_custom_strategy_needs_a_prompt_that_is_not_blank():
    assert refusal(MemoryStrategy, {"strategy": "custom", "custom_prompt": "   "}) == {
        "": "strategy 'custom' needs a custom_prompt"
    }


def test_a_custom_strategy_instructs_with_its_own_prompt_and_the_output_rules():
    instructions = MemoryStrategy(strategy="custom", custom_prompt="  Keep only recipes. ").instructions()
    assert instructions.startswith("Keep only recipes.\n\n")
    assert "standalone sentence" in instructions
