"""Query parameters of the /v1 routes: upstream's defaults, strings as a query string sends them,
and out-of-range values refused by name (as `parse_query` validates them)."""

from __future__ import annotations

from typing import Any

import pytest

from memoryserver.errors import InvalidInput
from memoryserver.validation import parse
from rest.v1.params import (
    ForgetParams,
    GetWorkingMemoryParams,
    OptimizeParams,
    PartitionFilterParams,
    PutWorkingMemoryParams,
    SessionListParams,
)


def refused_fields(model: type[Any], query: dict[str, str]) -> list[str]:
    with pytest.raises(InvalidInput) as error:
        parse(model, query)
    return [problem.field for problem in error.value.problems]


def test_a_session_list_pages_by_upstreams_default_of_20():
    params = parse(SessionListParams, {})
    assert (params.limit, params.offset, params.namespace, params.user_id) == (20, 0, None, None)


def test_query_string_values_are_read_as_their_types():
    params = parse(GetWorkingMemoryParams, {"recent_messages_limit": "5", "context_window_max": "900"})
    assert (params.recent_messages_limit, params.context_window_max) == (5, 900)
    assert parse(OptimizeParams, {"optimize_query": "true"}).optimize_query is True
    assert parse(ForgetParams, {"dry_run": "false", "limit": "10"}).model_dump(
        include={"dry_run", "limit"}
    ) == {
        "dry_run": False,
        "limit": 10,
    }


def test_parameters_a_route_does_not_know_are_ignored():
    params = parse(SessionListParams, {"limit": "5", "cursor": "abc", "debug": "1"})
    assert params.model_dump() == {"namespace": None, "user_id": None, "limit": 5, "offset": 0}


@pytest.mark.parametrize(
    ("model", "query", "field"),
    [
        (SessionListParams, {"limit": "0"}, "limit"),
        (SessionListParams, {"limit": "101"}, "limit"),
        (SessionListParams, {"offset": "-1"}, "offset"),
        (SessionListParams, {"offset": "ten"}, "offset"),
        (GetWorkingMemoryParams, {"recent_messages_limit": "0"}, "recent_messages_limit"),
        (GetWorkingMemoryParams, {"context_window_max": "0"}, "context_window_max"),
        (PutWorkingMemoryParams, {"model_name": ""}, "model_name"),
        (PutWorkingMemoryParams, {"model_name": "m" * 201}, "model_name"),
        (ForgetParams, {"limit": "100001"}, "limit"),
        (OptimizeParams, {"optimize_query": "maybe"}, "optimize_query"),
    ],
)
def test_a_value_out_of_range_is_refused_naming_the_parameter(model, query, field):
    assert refused_fields(model, query) == [field]


@pytest.mark.parametrize("field", ["namespace", "user_id"])
def test_a_scope_that_is_not_an_identifier_is_refused_with_the_rule(field):
    with pytest.raises(InvalidInput) as error:
        parse(GetWorkingMemoryParams, {field: "team a"})
    (problem,) = error.value.problems
    assert (problem.field, problem.message) == (
        field,
        "must be 1-200 characters: letters, digits and _ . : @ -",
    )


def test_any_model_name_is_accepted_as_a_parameter():
    assert parse(PutWorkingMemoryParams, {"model_name": "my-private-llm"}).model_name == "my-private-llm"


def test_a_partition_filter_holds_only_the_parameters_given():
    params = parse(PartitionFilterParams, {"user_id": "alice", "memory_type": "episodic", "page": "2"})
    assert params.group_filter() == {"user_id": "alice", "memory_type": "episodic"}
    assert parse(PartitionFilterParams, {}).group_filter() == {}
