"""Upstream filter objects as the search's filters: both tag vocabularies, time filters, refusals.

tests/mcp_app/test_translation.py and tests/v1_api/test_translation.py cover the basic
mapping of each operator; these tests cover how operators combine and what is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from memoryserver.errors import InvalidInput
from memoryserver.fields import TIMESTAMP_RANGE
from upstream.filters import TagFilterArg, TagFilterV1, TimeFilterArg, filter_payload

JAN_1_2025 = 1735689600.0
DAY = 86_400.0
TOOL_TAG_RULE = "use eq, ne, any, all or startswith"
TIME_RULE = "use gt, gte, lt, lte, eq, ne or between"


def tool_tag(value: object) -> TagFilterArg:
    return TagFilterArg.model_validate(value)


def v1_tag(value: object) -> TagFilterV1:
    return TagFilterV1.model_validate(value)


def time_filter(value: object) -> TimeFilterArg:
    return TimeFilterArg.model_validate(value)


def only_error(error: ValidationError) -> tuple[tuple[Any, ...], str]:
    """The location and message of a failure that must have exactly one problem."""
    (problem,) = error.errors(include_url=False)
    return problem["loc"], problem["msg"]


# Tag filters of the MCP tools: the API's vocabulary only.


@pytest.mark.parametrize("operator", ["in", "in_", "not_in", "none", "not_eq", "gt", "between"])
def test_a_tool_tag_filter_refuses_an_operator_outside_its_vocabulary_by_name(operator):
    with pytest.raises(ValidationError) as error:
        tool_tag({"eq": "a", operator: ["b"]})
    assert only_error(error.value)[1] == f"Value error, unsupported operator '{operator}'; {TOOL_TAG_RULE}"


def test_a_tool_tag_filter_combines_all_its_operators():
    value = {"eq": "a", "ne": "b", "any": ["c", "d"], "all": ["e"], "startswith": "pre"}
    assert tool_tag(value).operators("topics") == value


def test_a_tool_tag_filter_with_only_null_operators_has_no_condition():
    condition = tool_tag({"eq": None, "any": None, "startswith": None, "enum_class": None})
    assert condition.operators("topics") == {}
    assert filter_payload({"topics": condition}) == {}


def test_upstreams_enum_class_is_ignored_whatever_it_holds():
    condition = tool_tag({"eq": "episodic", "enum_class": "MemoryTypeEnum"})
    assert condition.operators("memory_type") == {"eq": "episodic"}


def test_a_tool_tag_filter_must_be_an_object_or_a_string():
    with pytest.raises(ValidationError) as error:
        tool_tag(["travel"])
    assert error.value.errors()[0]["type"] == "model_type"


# /v1 tag filters: the API's vocabulary and the published client's, in one filter.


def test_every_negative_condition_of_both_vocabularies_joins_one_none_list():
    condition = v1_tag({"none": ["d"], "not_in": ["c"], "ne": "a", "not_eq": "b"})
    assert condition.operators("topics") == {"none": ["d", "c", "a", "b"]}


def test_a_single_not_equal_stays_ne_beside_a_none_list():
    condition = v1_tag({"not_eq": "a", "not_in": ["b"]})
    assert condition.operators("topics") == {"ne": "a", "none": ["b"]}


def test_ne_and_not_eq_naming_the_same_value_exclude_it_once():
    assert v1_tag({"ne": "a", "not_eq": "a"}).operators("topics") == {"none": ["a"]}


def test_in_and_any_without_common_values_are_joined_in_the_order_given():
    assert v1_tag({"any": ["a"], "in": ["b", "c"]}).operators("topics") == {"any": ["a", "b", "c"]}


def test_conditions_of_both_vocabularies_are_combined_with_and():
    condition = v1_tag({"eq": "x", "in": ["a"], "all": ["c"], "not_in": ["b"], "startswith": "pr"})
    assert condition.operators("topics") == {
        "eq": "x",
        "any": ["a"],
        "all": ["c"],
        "none": ["b"],
        "startswith": "pr",
    }


def test_a_v1_tag_filter_with_only_empty_lists_has_no_condition_and_is_dropped():
    condition = v1_tag({"in": [], "not_in": [], "any": [], "none": []})
    assert condition.operators("topics") == {}
    assert filter_payload({"topics": condition, "user_id": v1_tag("u")}) == {"user_id": {"eq": "u"}}


def test_a_v1_tag_filter_refuses_an_unknown_operator_at_its_own_path():
    with pytest.raises(ValidationError) as error:
        v1_tag({"eq": "a", "contains": "b"})
    location, _ = only_error(error.value)
    assert location == ("contains",)


def test_a_v1_tag_filter_for_another_field_is_refused_naming_both_fields():
    with pytest.raises(InvalidInput) as error:
        v1_tag({"field": "entities", "in": ["a"]}).operators("topics")
    (problem,) = error.value.problems
    assert problem.field == "topics.field"
    assert problem.message == "is 'entities' but this filter is for 'topics'; omit it"


# Time filters: ISO-8601 or epoch seconds, and upstream's `inclusive` for between.


@pytest.mark.parametrize("operator", ["startswith", "any", "in", "before"])
def test_a_time_filter_refuses_an_operator_outside_its_vocabulary_by_name(operator):
    with pytest.raises(ValidationError) as error:
        time_filter({"gt": 1, operator: 2})
    assert only_error(error.value)[1] == f"Value error, unsupported operator '{operator}'; {TIME_RULE}"


def test_a_time_filter_combines_every_one_sided_operator_in_either_notation():
    condition = time_filter(
        {
            "gt": "2025-01-01T00:00:00Z",
            "gte": JAN_1_2025 + 1,
            "lt": "2025-01-02T00:00:00+00:00",
            "lte": str(JAN_1_2025 + DAY - 1),
            "eq": JAN_1_2025 + 5,
            "ne": "2025-01-01T01:00:06+01:00",
        }
    )
    assert condition.operators("created_at") == {
        "gt": JAN_1_2025,
        "gte": JAN_1_2025 + 1,
        "lt": JAN_1_2025 + DAY,
        "lte": JAN_1_2025 + DAY - 1,
        "eq": JAN_1_2025 + 5,
        "ne": JAN_1_2025 + 6,
    }


def test_an_iso_time_without_an_offset_is_read_as_utc():
    assert time_filter({"gte": "2025-01-01T00:00:00"}).operators("event_date") == {"gte": JAN_1_2025}


def test_an_iso_time_keeps_its_fractional_seconds():
    assert time_filter({"lt": "2025-01-01T00:00:00.250Z"}).operators("event_date") == {
        "lt": JAN_1_2025 + 0.25
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "must be epoch seconds or an ISO-8601 date-time, not a boolean"),
        ("yesterday", "must be epoch seconds or an ISO-8601 date-time"),
        (-62_135_596_801, TIMESTAMP_RANGE),
        (1e12, TIMESTAMP_RANGE),
        ("1e12", TIMESTAMP_RANGE),
        ({"seconds": 1}, "must be epoch seconds or an ISO-8601 date-time"),
    ],
)
def test_a_time_that_is_neither_iso_nor_epoch_seconds_is_refused_at_its_operator(value, message):
    with pytest.raises(ValidationError) as error:
        time_filter({"gt": value})
    assert only_error(error.value) == (("gt",), f"Value error, {message}")


@pytest.mark.parametrize("bounds", [[JAN_1_2025], [1, 2, 3], []])
def test_between_needs_exactly_two_bounds(bounds):
    with pytest.raises(ValidationError) as error:
        time_filter({"between": bounds})
    assert only_error(error.value)[0] == ("between",)


def test_inclusive_takes_only_upstreams_four_values():
    with pytest.raises(ValidationError) as error:
        time_filter({"between": [1, 2], "inclusive": "sometimes"})
    location, message = only_error(error.value)
    assert location == ("inclusive",)
    assert all(word in message for word in ("'both'", "'neither'", "'left'", "'right'"))


def test_inclusive_without_between_changes_nothing():
    assert time_filter({"inclusive": "neither", "gt": 5}).operators("created_at") == {"gt": 5.0}


def test_a_between_including_both_bounds_stays_beside_other_operators():
    condition = time_filter({"between": [1, 2], "ne": 1.5})
    assert condition.operators("created_at") == {"ne": 1.5, "between": [1.0, 2.0]}


def test_a_one_sided_operator_the_inclusive_flag_does_not_produce_is_kept_beside_it():
    condition = time_filter({"between": [1, 2], "inclusive": "left", "gt": 0})
    assert condition.operators("created_at") == {"gt": 0.0, "gte": 1.0, "lt": 2.0}


@pytest.mark.parametrize(
    ("inclusive", "given"),
    [("neither", "lt"), ("left", "gte"), ("left", "lt"), ("right", "gt"), ("right", "lte")],
)
def test_inclusive_refuses_to_turn_between_into_an_operator_also_given(inclusive, given):
    condition = time_filter({"between": [1, 2], "inclusive": inclusive, given: 5})
    with pytest.raises(InvalidInput) as error:
        condition.operators("updated_at")
    (problem,) = error.value.problems
    assert problem.field == "updated_at.inclusive"
    assert problem.message == f"'{inclusive}' turns between into '{given}', which is also given"


def test_a_time_filter_for_another_field_is_refused_at_its_field_path():
    with pytest.raises(InvalidInput) as error:
        time_filter({"field": "updated_at", "gt": 1}).operators("created_at")
    assert [problem.field for problem in error.value.problems] == ["created_at.field"]


def test_a_time_filter_ignores_upstreams_enum_class():
    assert time_filter({"eq": 7, "enum_class": None}).operators("created_at") == {"eq": 7.0}


# filter_payload: the named filters together.


def test_the_payload_keeps_each_filters_conditions_under_its_own_name():
    payload = filter_payload(
        {
            "namespace": tool_tag("work"),
            "topics": v1_tag({"in": ["a"], "not_eq": "b"}),
            "created_at": time_filter({"between": [1, 2], "inclusive": "right"}),
            "entities": None,
        }
    )
    assert payload == {
        "namespace": {"eq": "work"},
        "topics": {"ne": "b", "any": ["a"]},
        "created_at": {"gt": 1.0, "lte": 2.0},
    }


def test_the_payload_checks_each_filter_against_its_own_name():
    filters = {"topics": tool_tag({"field": "topics", "eq": "a"}), "entities": tool_tag({"field": "topics"})}
    with pytest.raises(InvalidInput) as error:
        filter_payload(filters)
    assert error.value.problems[0].field == "entities.field"


@pytest.mark.parametrize("inclusive", ["both", "neither", "left", "right"])
def test_a_reversed_between_is_refused_whatever_inclusive_says(inclusive):
    """Turned into gt/lt by `inclusive`, [10, 1] would silently match nothing."""
    with pytest.raises(InvalidInput) as error:
        time_filter({"between": [10, 1], "inclusive": inclusive}).operators("created_at")
    (problem,) = error.value.problems
    assert (problem.field, problem.message) == (
        "created_at",
        "between needs [low, high] with low <= high",
    )
