"""The domain error tree (memoryserver.errors): each error's status, and how field problems
are summarised for a one-line message."""

from __future__ import annotations

import pytest

from memoryserver.errors import (
    BackendUnavailable,
    Conflict,
    FeatureDisabled,
    FieldProblem,
    Forbidden,
    InvalidInput,
    MalformedBody,
    MemoryServerError,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    Unauthenticated,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInput("f", "bad"), 422),
        (MalformedBody("", "not JSON"), 400),
        (Unauthenticated("who?"), 401),
        (Forbidden("no"), 403),
        (NotFound("gone"), 404),
        (Conflict("taken"), 409),
        (PreconditionFailed("stale"), 412),
        (PayloadTooLarge("big"), 413),
        (FeatureDisabled("off"), 501),
        (BackendUnavailable("down"), 503),
    ],
)
def test_each_error_carries_the_http_status_its_transport_answers(error, status):
    assert isinstance(error, MemoryServerError) and error.status_code == status


def test_an_invalid_input_names_the_field_and_the_problem():
    error = InvalidInput("limit", "must be at least 1")
    assert str(error) == error.detail == "limit: must be at least 1"
    assert error.problems == [FieldProblem("limit", "must be at least 1")]


def test_an_invalid_input_without_a_field_is_just_the_problem():
    assert InvalidInput("", "the body is empty").detail == "the body is empty"


def test_further_problems_are_counted_in_the_summary_and_all_kept():
    error = InvalidInput("a", "first", FieldProblem("b", "second"), FieldProblem("c", "third"))
    assert error.detail == "a: first (and 2 more)"
    assert [p.field for p in error.problems] == ["a", "b", "c"]


def test_problems_collected_elsewhere_become_one_error_in_their_order():
    problems = [FieldProblem("x", "one"), FieldProblem("y", "two")]
    error = InvalidInput.from_problems(problems)
    assert error.problems == problems and error.detail == "x: one (and 1 more)"


def test_a_malformed_body_is_an_invalid_input_with_its_own_status():
    error = MalformedBody("body", "not valid JSON")
    assert isinstance(error, InvalidInput) and error.problems == [FieldProblem("body", "not valid JSON")]


def test_an_unavailable_backend_may_say_when_to_retry():
    assert BackendUnavailable("down").retry_after is None
    assert BackendUnavailable("busy", retry_after=5).retry_after == 5
