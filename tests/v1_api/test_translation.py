"""Pure translation of the /v1 shapes: filter vocabularies, client windows, hits, errors, prompts."""

from __future__ import annotations

import pytest

from longterm_app.schemas import MemoryHit
from memoryserver.errors import FieldProblem, InvalidInput
from rest.v1.errors import validation_detail
from rest.v1.views.base import warning_header
from sessions_app.schemas import Message
from sessions_app.windows import MessageBudget
from tests.v1_api.contract import document
from upstream.convert import hit_v1
from upstream.filters import TagFilterV1
from upstream.prompt import prompt_request
from upstream.schemas import MemoryPromptRequestV1, SearchRequestV1
from upstream.search import v1_search_request
from upstream.windows import DEFAULT_CONTEXT_WINDOW, client_window, context_percentages


def tag(value: object) -> TagFilterV1:
    return TagFilterV1.model_validate(value)


@pytest.mark.parametrize(
    ("value", "operators"),
    [
        ({"eq": "a"}, {"eq": "a"}),
        ("a", {"eq": "a"}),
        ({"in_": ["a", "b"]}, {"any": ["a", "b"]}),
        ({"in": ["a"], "any": ["b", "a"]}, {"any": ["b", "a"]}),
        ({"not_eq": "a"}, {"ne": "a"}),
        ({"ne": "a", "not_eq": "b"}, {"none": ["a", "b"]}),
        ({"not_in": ["a"], "none": ["b"]}, {"none": ["b", "a"]}),
        ({"all": ["a", "b"], "startswith": "pre"}, {"all": ["a", "b"], "startswith": "pre"}),
        ({"field": "topics", "eq": "a", "startswith": None, "enum_class": None}, {"eq": "a"}),
    ],
)
def test_both_tag_vocabularies_map_to_the_search_operators(value, operators):
    assert tag(value).operators("topics") == operators


def test_unknown_operators_and_mismatched_fields_are_refused():
    with pytest.raises(ValueError, match="like"):
        tag({"like": "a"})
    with pytest.raises(InvalidInput, match=r"topics\.field"):
        tag({"field": "entities", "eq": "a"}).operators("topics")


def test_search_requests_take_upstream_defaults():
    search = v1_search_request(SearchRequestV1(text="x"))
    assert (search.hybrid_alpha, search.recency_boost, search.limit) == (0.7, True, 10)
    plain = v1_search_request(SearchRequestV1(text=None, recency_boost=False, server_side_recency=True))
    assert plain.text == "" and plain.recency_boost is False
    assert v1_search_request(SearchRequestV1(server_side_recency=False)).recency_boost is False


def test_every_model_name_is_accepted():
    assert client_window("gpt-4o", None).warning is None
    unknown = client_window('my "model"\n', None)
    assert unknown.model_name is None and unknown.context_window_max == DEFAULT_CONTEXT_WINDOW
    assert unknown.warning is not None
    header = warning_header(unknown.warning)
    assert "\n" not in header and '"model"' not in header and header.startswith('299 - "Unknown')
    assert client_window("mystery", 500).context_window_max == 500
    assert not client_window(None, None).given and client_window(None, 10).given


def test_context_percentages():
    messages = [Message(role="user", content="hello world")]  # 2 tokens + 4 of framing
    budget = MessageBudget(10, 100, "openai")
    assert context_percentages(messages, None, budget) == (6.0, round(600 / 70, 2))
    assert context_percentages(messages * 50, None, budget) == (100.0, 100.0)
    assert context_percentages(messages, None, MessageBudget(10, None, "openai")) == (None, None)


@pytest.mark.parametrize(
    ("dist", "score", "mode", "expected_dist", "expected_score"),
    [
        (0.25, 0.75, "semantic", 0.25, 0.75),
        (1.4, -0.4, "semantic", 1.0, 0.0),  # opposite meaning: capped
        (None, 0.8, "keyword", pytest.approx(0.2), 0.8),
        (None, 0.0, None, 1.0, None),  # a filter-only listing
    ],
)
def test_hits_carry_dist_between_0_and_1(dist, score, mode, expected_dist, expected_score):
    hit = hit_v1(MemoryHit(text="x", dist=dist, score=score), mode)
    assert (hit.dist, hit.score, hit.score_type) == (expected_dist, expected_score, mode)


def test_validation_errors_take_upstream_shape():
    problems = [
        FieldProblem("messages.3.role", "bad"),
        FieldProblem("", "no body"),
        FieldProblem("policy.²", "odd"),
        FieldProblem("policy.999999999999999999999999999999", "unknown"),
    ]
    assert validation_detail(problems) == [
        {"loc": ["messages", 3, "role"], "msg": "bad", "type": "value_error"},
        {"loc": ["body"], "msg": "no body", "type": "value_error"},
        {"loc": ["policy", "²"], "msg": "odd", "type": "value_error"},  # a key that only looks numeric
        # A key of digits beyond any list's length stays a key (as an int it broke the JSON encoder).
        {"loc": ["policy", "999999999999999999999999999999"], "msg": "unknown", "type": "value_error"},
    ]


def test_prompt_requests_search_for_the_query_with_the_sessions_user():
    request = MemoryPromptRequestV1.model_validate(
        {
            "query": "what now?",
            "session": {"session_id": "s", "user_id": "u", "context_window_max": "900"},
            "long_term_search": {"text": "other", "topics": {"any": ["x"]}},
        }
    )
    ours, warning = prompt_request(request)
    assert warning is None and ours.session is not None and ours.session.context_window_max == 900
    search = ours.long_term_search
    assert search is not None and not isinstance(search, bool)
    assert search.text == "what now?" and search.user_id is not None and search.user_id.eq == "u"
    assert search.topics is not None and search.topics.any == ["x"]


def test_prompt_search_true_leaves_out_the_session():
    request = MemoryPromptRequestV1(query="q", session={"session_id": "s"}, long_term_search=True)
    search = prompt_request(request)[0].long_term_search
    assert search is not None and not isinstance(search, bool)
    assert search.limit == 20 and search.session_id is not None and search.session_id.ne == "s"
    assert search.user_id is None


def test_every_upstream_route_is_documented_with_its_operation_id_and_parameters(api):
    ours = api.get("/openapi.json").json()["paths"]
    for path, operations in document()["paths"].items():
        for method, operation in operations.items():
            documented = ours[path][method]
            assert documented["operationId"] == operation["operationId"], (method, path)
            names = {p["name"] for p in documented.get("parameters", [])}
            assert {p["name"] for p in operation.get("parameters", [])} <= names, (method, path)
