"""FailureReporter: every failure of a model call becomes one domain error whose message says what
went wrong and what to check, and never shows the key."""

from __future__ import annotations

import pytest

from memoryserver.errors import BackendUnavailable
from providers.llm.base import ModelUnavailable
from providers.llm.failures import FailureReporter, error_detail

SECRET = "sk-test-failures-0123456789"
LABEL = "Chat model 'gpt-4o-mini' (openai)"


def reporter(max_retries: int = 2, timeout: float = 60.0, secret: str | None = SECRET) -> FailureReporter:
    return FailureReporter(
        label=LABEL,
        model="gpt-4o-mini",
        base_url="https://user:pass@llm.example:8443/v1/",
        key_setting="OPENAI_API_KEY",
        max_retries=max_retries,
        timeout=timeout,
        secret=secret,
    )


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, f"{LABEL}: authentication failed (401): OPENAI_API_KEY is missing, wrong or revoked."),
        (403, f"{LABEL}: permission denied (403): the key in OPENAI_API_KEY may not use it."),
        (
            404,
            f"{LABEL}: not found (404): unknown model 'gpt-4o-mini' or wrong base URL "
            "https://llm.example:8443: no such thing",
        ),
        (400, f"{LABEL} rejected the request (400 bad request): no such thing"),
        (408, f"{LABEL} failed after retries (3 attempts): 408 request timeout: no such thing"),
        (409, f"{LABEL} failed after retries (3 attempts): 409 conflict: no such thing"),
        (429, f"{LABEL} failed after retries (3 attempts): 429 rate limited: no such thing"),
        (529, f"{LABEL} failed after retries (3 attempts): 529 overloaded: no such thing"),
        (502, f"{LABEL} failed after retries (3 attempts): 502 server error: no such thing"),
        (422, f"{LABEL} answered 422: no such thing"),
    ],
)
def test_each_http_status_gets_its_own_explanation(status: int, message: str):
    error = reporter().status_error(status, {"error": {"message": "no such thing"}}, "fallback")
    assert isinstance(error, ModelUnavailable) and isinstance(error, BackendUnavailable)
    assert str(error) == message


def test_a_refused_connection_names_the_server_without_credentials_or_path():
    message = str(reporter().connection_error())
    assert message.endswith("cannot connect to https://llm.example:8443.")
    assert "pass" not in message and "/v1" not in message


def test_the_key_is_masked_wherever_it_appears():
    body = {"error": {"message": f"key {SECRET} is over quota"}}
    assert str(reporter().status_error(400, body, "")).endswith("(400 bad request): key *** is over quota")
    unexpected = reporter().unexpected_error(RuntimeError(f"bad header Bearer {SECRET}"))
    assert str(unexpected) == f"{LABEL} failed: RuntimeError: bad header Bearer ***"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"error": {"message": "from openai", "type": "x"}}, "from openai"),
        ({"type": "error", "error": {"message": "from anthropic"}}, "from anthropic"),
        ({"message": "flat"}, "flat"),
        ({"error": {"message": 42}}, "the SDK's words"),
        ("<html>502 Bad Gateway</html>", "the SDK's words"),
    ],
)
def test_the_apis_own_message_is_used_when_there_is_one(body: object, detail: str):
    assert error_detail(body, "the SDK's words") == detail
