"""rest.errors: every failure a view raises becomes the contract's JSON error, with the status
and the headers a client acts on (Retry-After, WWW-Authenticate)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import redis
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions as drf

from memoryserver import errors
from memoryserver.errors import REDIS_DOWN, BackendUnavailable, FieldProblem, InvalidInput
from rest.errors import exception_handler, translate


def body(status: int, detail: str) -> dict[str, object]:
    return {"detail": detail, "status_code": status}


def translated(error: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """What a failure the handler knows becomes."""
    answer = translate(error)
    assert answer is not None, f"{error!r} would be a 500"
    return answer


@pytest.mark.parametrize(
    ("error", "status", "headers"),
    [
        (errors.NotFound("No memory 'm-1'."), 404, {}),
        (errors.Conflict("Memory 'm-1' exists."), 409, {}),
        (errors.PreconditionFailed("Version 3 is not current."), 412, {}),
        (errors.FeatureDisabled("Summaries need a chat model."), 501, {}),
        (errors.Forbidden("Needs the 'memory:write' scope."), 403, {}),
        (errors.Unauthenticated("The token has expired."), 401, {"WWW-Authenticate": "Bearer"}),
        (BackendUnavailable("Model API down."), 503, {}),
        (BackendUnavailable("Model API down.", retry_after=7), 503, {"Retry-After": "7"}),
        (RequestDataTooBig("big"), 413, {}),
    ],
)
def test_a_failure_answers_its_status_and_only_the_headers_its_client_can_act_on(error, status, headers):
    detail = "Request body is too large." if isinstance(error, RequestDataTooBig) else error.detail
    assert translate(error) == (status, body(status, detail), headers)


def test_invalid_input_lists_every_problem_by_field():
    status, answer, _ = translated(
        InvalidInput("memories.0.text", "empty", FieldProblem("namespace", "long"))
    )
    assert (status, answer["detail"]) == (422, "memories.0.text: empty (and 1 more)")
    assert answer["errors"] == [
        {"field": "memories.0.text", "message": "empty"},
        {"field": "namespace", "message": "long"},
    ]


@pytest.mark.parametrize("failure", [redis.ConnectionError, redis.TimeoutError])
def test_an_unreachable_redis_is_a_503_and_only_the_failures_type_is_logged(failure, caplog):
    with caplog.at_level(logging.WARNING, logger="rest.errors"):
        translated = translate(failure("Error connecting to redis://app:hunter2@db:6379"))
    assert translated == (503, body(503, REDIS_DOWN), {"Retry-After": "1"})
    assert caplog.messages == [f"Redis unavailable: {failure.__name__}"]


@pytest.mark.parametrize("error", [redis.ResponseError("OOM command not allowed"), ValueError("a bug")])
def test_a_failure_that_is_not_a_known_one_is_left_to_become_a_500(error):
    assert translate(error) is None and exception_handler(error, {}) is None


def test_drf_validation_details_are_flattened_into_field_paths():
    detail = {
        "messages": [{}, {}, {"role": ["Not a valid role."]}],
        "non_field_errors": ["The body is inconsistent."],
        "filter": {"non_field_errors": ["Pick one."], "tags": ["Too many.", "Too short."]},
    }
    status, answer, _ = translated(drf.ValidationError(detail))
    assert (status, answer["detail"]) == (422, "Invalid input.")
    assert [(e["field"], e["message"]) for e in answer["errors"]] == [
        ("messages.2.role", "Not a valid role."),
        ("", "The body is inconsistent."),
        ("filter", "Pick one."),
        ("filter.tags", "Too many."),
        ("filter.tags", "Too short."),
    ]


@pytest.mark.parametrize(
    ("failure", "status", "headers"),
    [
        (drf.NotAuthenticated(), 401, {"WWW-Authenticate": "Bearer"}),
        (drf.AuthenticationFailed("Bad token."), 401, {"WWW-Authenticate": "Bearer"}),
        (drf.PermissionDenied(), 403, {}),
        (drf.MethodNotAllowed("PATCH"), 405, {}),
    ],
)
def test_drf_errors_keep_their_status_and_only_authentication_asks_for_a_token(failure, status, headers):
    assert translate(failure) == (status, body(status, str(failure.detail)), headers)


def test_the_drf_hook_answers_with_the_translated_body_and_headers():
    response = exception_handler(BackendUnavailable("Busy.", retry_after=3), {})
    assert response is not None
    assert (response.status_code, response.data, response["Retry-After"]) == (503, body(503, "Busy."), "3")
