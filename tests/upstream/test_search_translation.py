"""Upstream search requests as the long-term search's SearchRequest: /v1 bodies and tool arguments."""

from __future__ import annotations

from typing import Any

import pytest

from longterm_app.schemas import SearchRequest
from memoryserver.errors import InvalidInput
from memoryserver.validation import parse
from upstream.filters import FilterArg, TagFilterArg, TimeFilterArg
from upstream.schemas import SearchRequestV1
from upstream.search import (
    RECENCY_OPTIONS,
    effective_recency_boost,
    tool_search_request,
    v1_search_request,
)

JAN_1_2025 = 1735689600.0
DAY = 86_400.0


def v1(body: dict[str, Any], **overrides: Any) -> SearchRequest:
    """A /v1 body as a route sees it: validated as SearchRequestV1, then translated."""
    return v1_search_request(parse(SearchRequestV1, body), **overrides)


def refused_fields(body: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidInput) as error:
        v1(body)
    return [problem.field for problem in error.value.problems]


# Upstream's defaults and the two recency switches.


def test_a_v1_search_left_empty_takes_upstreams_defaults_not_the_rest_searchs():
    ours = SearchRequest()
    upstream = v1({})
    assert (upstream.search_mode, upstream.hybrid_alpha, upstream.recency_boost) == ("semantic", 0.7, True)
    assert (ours.search_mode, ours.hybrid_alpha, ours.recency_boost) != ("semantic", 0.7, True)


def test_a_v1_searchs_recency_weights_left_null_keep_the_searchs_own():
    search = v1({"text": "x"})
    for name in RECENCY_OPTIONS:
        assert getattr(search, name) == SearchRequest.model_fields[name].default, name


@pytest.mark.parametrize(
    ("recency_boost", "server_side_recency", "effective"),
    [
        (None, None, None),
        (None, True, True),
        (None, False, False),
        (True, None, True),
        (False, None, False),
        (True, False, True),
        (False, True, False),
        (True, True, True),
        (False, False, False),
    ],
)
def test_an_explicit_recency_boost_wins_over_server_side_recency(
    recency_boost, server_side_recency, effective
):
    assert effective_recency_boost(recency_boost, server_side_recency) is effective


def test_a_v1_search_re_ranks_by_recency_unless_a_switch_says_false():
    assert v1({"server_side_recency": None, "recency_boost": None}).recency_boost is True
    assert v1({"server_side_recency": False, "recency_boost": True}).recency_boost is True


def test_every_v1_option_given_replaces_its_default():
    options = {
        "search_mode": "keyword",
        "hybrid_alpha": 0.2,
        "limit": 50,
        "offset": 20,
        "distance_threshold": 0.4,
        "recency_semantic_weight": 0.5,
        "recency_recency_weight": 0.5,
        "recency_freshness_weight": 0.1,
        "recency_novelty_weight": 0.9,
        "recency_half_life_last_access_days": 3.0,
        "recency_half_life_created_days": 90.0,
    }
    search = v1({"text": "trip", **options})
    assert {name: getattr(search, name) for name in options} == options


def test_overrides_replace_the_bodys_entries():
    search = v1({"text": "from the body", "limit": 5}, text="the prompt's query", limit=7)
    assert (search.text, search.limit) == ("the prompt's query", 7)


def test_overrides_are_validated_like_the_body():
    with pytest.raises(InvalidInput) as error:
        v1({"text": "x"}, limit=0)
    assert [problem.field for problem in error.value.problems] == ["limit"]


# Values out of range, named by field, whether /v1's model or the search refuses them.


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 10_001}, "offset"),
        ({"hybrid_alpha": 1.5}, "hybrid_alpha"),
        ({"distance_threshold": 2.5}, "distance_threshold"),
        ({"search_mode": "fuzzy"}, "search_mode"),
        ({"text_scorer": "TFIDF"}, "text_scorer"),
        ({"recency_semantic_weight": 2}, "recency_semantic_weight"),
        ({"recency_half_life_created_days": 0}, "recency_half_life_created_days"),
        ({"text": "x" * 10_001}, "text"),
    ],
)
def test_a_v1_value_out_of_range_is_refused_naming_its_field(body, field):
    assert refused_fields(body) == [field]


# Filters of a /v1 body.


def test_both_tag_vocabularies_reach_the_search_as_its_filters():
    search = v1(
        {
            "topics": {"in": ["travel"], "not_in": ["work"]},
            "memory_type": {"not_eq": "message"},
            "user_id": "alice",
        }
    )
    assert search.topics is not None and (search.topics.any, search.topics.none) == (["travel"], ["work"])
    assert search.memory_type is not None and search.memory_type.ne == "message"
    assert search.user_id is not None and search.user_id.eq == "alice"  # a bare string means eq


def test_time_filters_reach_the_search_in_epoch_seconds():
    search = v1(
        {
            "created_at": {"gte": "2025-01-01T00:00:00Z"},
            "event_date": {"between": [JAN_1_2025, "2025-01-02T00:00:00Z"], "inclusive": "left"},
        }
    )
    assert search.created_at is not None and search.created_at.gte == JAN_1_2025
    assert search.event_date is not None
    assert (search.event_date.gte, search.event_date.lt) == (JAN_1_2025, JAN_1_2025 + DAY)
    assert search.event_date.between is None


def test_a_v1_filter_without_a_condition_does_not_restrict_the_search():
    search = v1({"topics": {"field": "topics"}, "namespace": {"in": []}, "created_at": {"inclusive": "left"}})
    assert (search.topics, search.namespace, search.created_at) == (None, None, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"topics": {"contains": "a"}}, "topics.contains"),
        ({"created_at": {"before": 1}}, "created_at"),
        ({"entities": {"field": "topics", "eq": "a"}}, "entities.field"),
        ({"topics": {"startswith": "a"}}, "topics.startswith"),
        ({"user_id": {"eq": "al\x00ice"}}, "user_id.eq"),
        ({"updated_at": {"between": [JAN_1_2025 + DAY, JAN_1_2025]}}, "updated_at"),
        ({"last_accessed": {"between": [1, 2], "inclusive": "neither", "lt": 3}}, "last_accessed.inclusive"),
    ],
)
def test_a_refused_v1_filter_is_named_by_its_path(body, field):
    assert refused_fields(body) == [field]


def test_an_unsupported_time_operator_is_named_in_the_message():
    with pytest.raises(InvalidInput) as error:
        v1({"created_at": {"before": 1}})
    assert "unsupported operator 'before'" in error.value.problems[0].message


def test_a_reversed_between_is_refused_with_the_rule():
    with pytest.raises(InvalidInput) as error:
        v1({"updated_at": {"between": ["2025-01-02T00:00:00Z", "2025-01-01T00:00:00Z"]}})
    assert error.value.problems[0].message == "between needs [low, high] with low <= high"


# The MCP search tools' flat arguments.


def test_tool_options_left_null_take_the_rest_searchs_defaults():
    options = {name: None for name in ("hybrid_alpha", "recency_boost", "limit", *RECENCY_OPTIONS)}
    assert tool_search_request("trip", "hybrid", {}, options) == SearchRequest(text="trip")


def test_tool_options_given_replace_the_rest_searchs_defaults():
    search = tool_search_request(
        "trip", "hybrid", {}, {"hybrid_alpha": 0.9, "recency_boost": True, "limit": 3}
    )
    assert (search.hybrid_alpha, search.recency_boost, search.limit) == (0.9, True, 3)


def test_tool_filters_of_both_kinds_reach_the_search():
    filters: dict[str, FilterArg] = {
        "namespace": TagFilterArg.model_validate("work"),
        "created_at": TimeFilterArg.model_validate({"between": [1, 2], "inclusive": "neither"}),
    }
    search = tool_search_request(None, "semantic", filters, {})
    assert search.namespace is not None and search.namespace.eq == "work"
    assert search.created_at is not None and (search.created_at.gt, search.created_at.lt) == (1.0, 2.0)
    assert search.text == ""


@pytest.mark.parametrize(
    ("search_mode", "options", "field"),
    [
        ("fuzzy", {}, "search_mode"),
        ("semantic", {"offset": -1}, "offset"),
        ("semantic", {"pinned_only": True}, "pinned_only"),
    ],
)
def test_a_refused_tool_argument_is_named(search_mode, options, field):
    with pytest.raises(InvalidInput) as error:
        tool_search_request("x", search_mode, {}, options)
    assert [problem.field for problem in error.value.problems] == [field]
