"""A /v1 memory-prompt request as ours: which search runs, for whom, and over which session."""

from __future__ import annotations

from typing import Any

import pytest

from longterm_app.schemas import SearchRequest
from memoryserver.errors import InvalidInput
from memoryserver.validation import parse
from sessions_app.prompt import MemoryPromptRequest
from sessions_app.schemas import MAX_MESSAGES
from upstream.prompt import DEFAULT_PROMPT_SEARCH_LIMIT, prompt_request
from upstream.schemas import MemoryPromptRequestV1
from upstream.windows import DEFAULT_CONTEXT_WINDOW


def translated(body: dict[str, Any]) -> tuple[MemoryPromptRequest, str | None]:
    return prompt_request(parse(MemoryPromptRequestV1, {"query": "Where did Alice travel?", **body}))


def search_of(body: dict[str, Any]) -> SearchRequest:
    search = translated(body)[0].long_term_search
    assert isinstance(search, SearchRequest), search
    return search


def refused(body: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as error:
        translated(body)
    return [(problem.field, problem.message) for problem in error.value.problems]


@pytest.mark.parametrize("search", [None, False])
def test_a_prompt_needs_a_session_or_a_search(search):
    assert refused({"long_term_search": search}) == [
        ("session", "give a session, a long_term_search, or both")
    ]


@pytest.mark.parametrize("search", [None, False])
def test_a_session_alone_runs_no_search(search):
    ours, _ = translated({"session": {"session_id": "s"}, "long_term_search": search})
    assert ours.long_term_search is None and ours.session is not None


def test_the_sessions_whole_history_is_offered_in_its_scope():
    ours, _ = translated({"session": {"session_id": "s", "namespace": "chat", "user_id": "alice"}})
    assert ours.session is not None
    assert (ours.session.session_id, ours.session.namespace, ours.session.user_id) == ("s", "chat", "alice")
    assert ours.session.window_size == MAX_MESSAGES


def test_search_true_keeps_to_the_sessions_user_and_leaves_out_the_session():
    search = search_of({"session": {"session_id": "s", "user_id": "alice"}, "long_term_search": True})
    assert search.user_id is not None and search.user_id.model_dump(exclude_none=True) == {"eq": "alice"}
    assert search.session_id is not None and search.session_id.model_dump(exclude_none=True) == {"ne": "s"}


def test_search_true_searches_for_the_query_with_upstreams_defaults():
    search = search_of({"session": {"session_id": "s"}, "long_term_search": True})
    assert (search.text, search.limit) == ("Where did Alice travel?", DEFAULT_PROMPT_SEARCH_LIMIT)
    assert (search.search_mode, search.hybrid_alpha, search.recency_boost) == ("semantic", 0.7, True)


def test_search_true_without_a_session_searches_everything_visible():
    search = search_of({"long_term_search": True})
    filters = search.model_dump(include={"session_id", "user_id", "namespace", "topics"})
    assert filters == {"session_id": None, "user_id": None, "namespace": None, "topics": None}
    assert search.limit == DEFAULT_PROMPT_SEARCH_LIMIT


def test_a_search_object_gets_the_sessions_user_when_it_names_none():
    search = search_of({"session": {"session_id": "s", "user_id": "alice"}, "long_term_search": {"limit": 3}})
    assert search.user_id is not None and search.user_id.eq == "alice"
    assert search.limit == 3


def test_a_search_object_keeps_the_user_it_names():
    body = {
        "session": {"session_id": "s", "user_id": "alice"},
        "long_term_search": {"user_id": {"in": ["bob"]}},
    }
    search = search_of(body)
    assert search.user_id is not None and search.user_id.model_dump(exclude_none=True) == {"any": ["bob"]}


def test_a_search_object_without_a_sessions_user_stays_unfiltered_by_user():
    search = search_of({"session": {"session_id": "s"}, "long_term_search": {"text": "trips"}})
    assert search.user_id is None


def test_a_search_object_does_not_leave_out_the_session_on_its_own():
    search = search_of({"session": {"session_id": "s"}, "long_term_search": {}})
    assert search.session_id is None


def test_a_search_object_searches_for_the_query_not_its_own_text():
    assert search_of({"long_term_search": {"text": "something else"}}).text == "Where did Alice travel?"


def test_a_search_objects_own_filters_and_options_are_kept():
    body = {"long_term_search": {"session_id": {"eq": "s"}, "search_mode": "keyword", "hybrid_alpha": 0.1}}
    search = search_of(body)
    assert search.session_id is not None and search.session_id.eq == "s"
    assert (search.search_mode, search.hybrid_alpha) == ("keyword", 0.1)


def test_an_unknown_client_model_gets_the_default_window_and_a_warning():
    ours, warning = translated({"session": {"session_id": "s", "model_name": "my-private-llm"}})
    assert ours.session is not None
    assert (ours.session.model_name, ours.session.context_window_max) == (None, DEFAULT_CONTEXT_WINDOW)
    assert warning is not None and "my-private-llm" in warning


def test_a_known_client_model_keeps_its_name_and_needs_no_warning():
    ours, warning = translated({"session": {"session_id": "s", "model_name": "claude-3-5-sonnet-latest"}})
    assert ours.session is not None and ours.session.model_name == "claude-3-5-sonnet-latest"
    assert ours.session.context_window_max is None and warning is None


def test_a_prompt_without_a_session_has_no_warning():
    assert translated({"long_term_search": True})[1] is None


@pytest.mark.parametrize(
    ("session", "field"),
    [
        ({"session_id": "not an id"}, "session.session_id"),
        ({"session_id": "s", "namespace": "a/b"}, "session.namespace"),
        ({"session_id": "s", "context_window_max": 0}, "session.context_window_max"),
    ],
)
def test_an_invalid_session_is_refused_under_the_session_prefix(session, field):
    assert [found for found, _ in refused({"session": session})] == [field]


def test_an_empty_query_is_refused_by_name():
    with pytest.raises(InvalidInput) as error:
        prompt_request(MemoryPromptRequestV1(query="", long_term_search=True))
    assert [problem.field for problem in error.value.problems] == ["query"]


def test_a_bad_search_option_is_named_inside_long_term_search():
    assert refused({"long_term_search": {"offset": 20000}}) == [
        ("long_term_search.offset", "Input should be less than or equal to 10000")
    ]


def test_a_bad_filter_is_named_inside_long_term_search():
    (field, _), *_ = refused({"long_term_search": {"topics": {"field": "entities", "eq": "x"}}})
    assert field == "long_term_search.topics.field"


def test_an_empty_user_filter_names_no_user_so_the_sessions_user_is_added():
    body = {
        "session": {"session_id": "s1", "user_id": "u"},
        "long_term_search": {"user_id": {"field": "user_id"}},
    }
    assert search_of(body).user_id is not None
    assert search_of(body).user_id.eq == "u"


def test_a_bad_user_filter_is_named_inside_long_term_search_beside_a_session_user():
    body = {
        "session": {"session_id": "s1", "user_id": "u"},
        "long_term_search": {"user_id": {"field": "x", "eq": "u"}},
    }
    (field, _), *_ = refused(body)
    assert field == "long_term_search.user_id.field"
