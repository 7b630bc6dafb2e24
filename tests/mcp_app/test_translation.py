"""Pure translation: upstream filter objects, tenant bindings and tool error messages."""

from __future__ import annotations

import pytest
from mcp.server.fastmcp.exceptions import ToolError
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError

from longterm_app.schemas import SearchRequest
from mcp_app.errors import failure_message
from mcp_app.tenancy import Binding
from memoryserver.auth.principal import ANONYMOUS_DEVELOPER, Principal
from memoryserver.errors import Forbidden, InvalidInput, NotFound
from upstream.filters import TagFilterArg, TimeFilterArg, filter_payload
from upstream.search import tool_search_request

JAN_1_2025 = 1735689600.0


def tag(value: object) -> TagFilterArg:
    return TagFilterArg.model_validate(value)


def time_filter(value: object) -> TimeFilterArg:
    return TimeFilterArg.model_validate(value)


def test_upstream_tag_filters_map_to_the_search_filters():
    upstream = {"field": "topics", "any": ["a", "b"], "ne": "c", "startswith": None}
    assert tag(upstream).operators("topics") == {"ne": "c", "any": ["a", "b"]}
    assert tag("work").operators("namespace") == {"eq": "work"}  # a bare string means eq
    assert tag({"eq": "episodic", "enum_class": None}).operators("memory_type") == {"eq": "episodic"}
    assert tag({"startswith": "tra"}).operators("topics") == {"startswith": "tra"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"eq": "a", "like": "b"}, "unsupported operator 'like'; use eq, ne, any, all or startswith"),
        ({"eq": "a", "inclusive": "both"}, "unsupported operator 'inclusive'"),
    ],
)
def test_unsupported_tag_operators_are_named(value, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        tag(value)


def test_time_filters_take_iso_date_times_and_epoch_seconds():
    condition = time_filter({"field": "created_at", "gte": "2025-01-01T00:00:00Z", "lt": JAN_1_2025 + 60})
    assert condition.operators("created_at") == {"gte": JAN_1_2025, "lt": JAN_1_2025 + 60}
    naive = time_filter({"eq": "2025-01-01T01:00:00+01:00"}).operators("event_date")
    assert naive == {"eq": JAN_1_2025}


@pytest.mark.parametrize(
    ("inclusive", "expected"),
    [
        ("both", {"between": [JAN_1_2025, JAN_1_2025 + 10]}),
        ("neither", {"gt": JAN_1_2025, "lt": JAN_1_2025 + 10}),
        ("left", {"gte": JAN_1_2025, "lt": JAN_1_2025 + 10}),
        ("right", {"gt": JAN_1_2025, "lte": JAN_1_2025 + 10}),
    ],
)
def test_between_honours_upstream_inclusive(inclusive, expected):
    condition = time_filter({"between": ["2025-01-01T00:00:00Z", JAN_1_2025 + 10], "inclusive": inclusive})
    assert condition.operators("created_at") == expected


def test_between_cannot_collide_with_the_operator_it_becomes():
    condition = time_filter({"between": [1, 2], "inclusive": "neither", "gt": 0})
    with pytest.raises(InvalidInput, match=r"created_at\.inclusive"):
        condition.operators("created_at")


def test_a_filter_for_another_field_is_refused():
    with pytest.raises(InvalidInput) as error:
        tag({"field": "user_id", "eq": "x"}).operators("topics")
    assert error.value.problems[0].field == "topics.field"


def test_search_request_drops_empty_filters_and_keeps_server_defaults():
    filters = {"topics": tag({"field": "topics"}), "user_id": tag({"eq": "u"}), "created_at": None}
    assert filter_payload(filters) == {"user_id": {"eq": "u"}}
    request = tool_search_request(None, "hybrid", filters, {"limit": 5, "recency_semantic_weight": None})
    assert request == SearchRequest(text="", search_mode="hybrid", limit=5, user_id={"eq": "u"})


def test_search_request_reports_bad_values_by_field():
    with pytest.raises(InvalidInput) as error:
        tool_search_request("x", "semantic", {"topics": tag({"any": []})}, {"limit": 0})
    fields = {problem.field for problem in error.value.problems}
    assert fields == {"topics.any", "limit"}


def test_binding_narrows_the_caller_to_the_bound_tenant():
    binding = Binding(namespace="team-a", user_id="alice")
    local = binding.local_developer()
    assert (local.namespaces, local.user_id, local.method) == (frozenset({"team-a"}), "alice", "disabled")
    token = Principal(subject="t", method="token", namespaces=frozenset({"team-a", "team-b"}))
    assert binding.bind(token).namespaces == frozenset({"team-a"})
    assert Binding().bind(ANONYMOUS_DEVELOPER) is ANONYMOUS_DEVELOPER


def test_a_caller_outside_the_binding_is_forbidden():
    with pytest.raises(Forbidden, match="Namespace 'team-a' is outside"):
        Binding(namespace="team-a").bind(Principal(subject="t", method="token", namespaces=frozenset({"b"})))
    with pytest.raises(Forbidden, match="User 'alice' is not this caller's user"):
        Binding(user_id="alice").bind(Principal(subject="t", method="token", user_id="bob"))


def test_a_binding_must_name_valid_identifiers():
    with pytest.raises(InvalidInput, match="namespace: 'bad ns' must be 1-200 characters"):
        Binding(namespace="bad ns")


def wrapped(error: Exception) -> ToolError:
    try:
        raise ToolError(f"Error executing tool x: {error}") from error
    except ToolError as tool_error:
        return tool_error


def test_failure_messages_keep_the_domain_message():
    assert failure_message(wrapped(NotFound("No memory 'm'.")), "x") == "No memory 'm'."
    several = InvalidInput.from_problems(
        InvalidInput("limit", "too big").problems + InvalidInput("offset", "negative").problems
    )
    assert (
        failure_message(wrapped(several), "x")
        == "limit: too big (and 1 more)\n- limit: too big\n- offset: negative"
    )
    assert "memory store (Redis) is unavailable" in failure_message(wrapped(RedisConnectionError()), "x")
    assert failure_message(ToolError("Unknown tool: y"), "y") == "Unknown tool: y"


def test_unexpected_failures_are_logged_not_leaked(caplog):
    message = failure_message(wrapped(KeyError("secret detail")), "search_long_term_memory")
    assert message == (
        "The tool 'search_long_term_memory' failed unexpectedly (KeyError); the server log has details."
    )
    assert "secret" not in message and caplog.records[-1].exc_info is not None
