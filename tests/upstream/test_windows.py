"""The client model of a /v1 request: its window, the Warning for unknown models, and how full it is."""

from __future__ import annotations

import pytest
from django.http import HttpResponse

from memoryserver.tokens import count_text, resolve_model
from rest.v1.views.base import warning_header
from sessions_app.schemas import Message
from sessions_app.windows import MessageBudget
from upstream.windows import DEFAULT_CONTEXT_WINDOW, client_window, context_percentages

HOSTILE_NAMES = ['evil"\r\nSet-Cookie: a=b', "modèle-ünïcode", "back\\slash", "tab\there", "emoji-🙂"]


def messages(*contents: str) -> list[Message]:
    return [Message(role="user", content=content) for content in contents]


def test_an_unknown_model_gets_the_default_window_named_in_an_http_warning():
    window = client_window("my-private-llm", None)
    assert (window.model_name, window.context_window_max) == (None, DEFAULT_CONTEXT_WINDOW)
    assert window.warning == (
        f"Unknown model_name 'my-private-llm': using a context window of {DEFAULT_CONTEXT_WINDOW} tokens"
    )
    assert warning_header(window.warning) == f'299 - "{window.warning}"'


def test_an_unknown_model_with_an_explicit_window_is_warned_about_that_window():
    window = client_window("my-private-llm", 4096)
    assert window.context_window_max == 4096
    assert window.warning is not None and "using a context window of 4096 tokens" in window.warning


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_the_warning_is_a_valid_header_value_whatever_the_model_name(name):
    text = client_window(name, None).warning
    assert text is not None
    warning = warning_header(text)
    assert all(32 <= ord(char) < 127 for char in warning)
    assert warning.count('"') == 2 and "\\" not in warning
    HttpResponse()["Warning"] = warning  # Django refuses header values that could split a response


def test_a_known_model_keeps_its_name_and_leaves_the_window_to_the_registry():
    window = client_window("gpt-4o-2024-08-06", None)
    assert resolve_model("gpt-4o-2024-08-06") is not None
    assert (window.model_name, window.context_window_max, window.warning) == ("gpt-4o-2024-08-06", None, None)


def test_a_known_model_with_an_explicit_window_keeps_both():
    window = client_window("claude-sonnet-4", 2048)
    assert (window.model_name, window.context_window_max, window.warning) == ("claude-sonnet-4", 2048, None)


@pytest.mark.parametrize("name", [None, ""])
def test_no_model_name_means_no_model_and_no_warning(name):
    window = client_window(name, None)
    assert (window.model_name, window.context_window_max, window.warning) == (None, None, None)
    assert not window.given


def test_a_window_is_given_by_an_unknown_model_too():
    assert client_window("my-private-llm", None).given


# How full the window is.


def test_nothing_in_the_session_uses_nothing():
    assert context_percentages([], None, MessageBudget(10, 1000, "openai")) == (0.0, 0.0)


def test_the_context_summary_counts_towards_the_window():
    history = messages("We talked about tea.")
    budget = MessageBudget(10, 1000, "openai")
    context = "Alice likes green tea and visits Kyoto every spring."
    without, _ = context_percentages(history, None, budget)
    with_context, _ = context_percentages(history, context, budget)
    assert without is not None and with_context is not None
    assert with_context - without == pytest.approx(100 * count_text(context) / 1000, abs=0.01)


def test_anthropic_models_use_more_of_the_window_for_the_same_text():
    history = messages("The quick brown fox jumps over the lazy dog. " * 5)
    openai, _ = context_percentages(history, None, MessageBudget(10, 1000, "openai"))
    anthropic, _ = context_percentages(history, None, MessageBudget(10, 1000, "anthropic"))
    assert openai is not None and anthropic is not None and anthropic > openai


def test_progress_towards_summarisation_follows_the_threshold_setting(settings):
    history = messages("one two three four five six seven eight")
    budget = MessageBudget(10, 1000, "openai")
    settings.SUMMARIZATION_THRESHOLD = 0.5
    total, until_half = context_percentages(history, None, budget)
    settings.SUMMARIZATION_THRESHOLD = 0.25
    _, until_quarter = context_percentages(history, None, budget)
    assert total is not None and until_half is not None and until_quarter is not None
    assert until_half == pytest.approx(2 * total, abs=0.02)
    assert until_quarter == pytest.approx(4 * total, abs=0.02)


def test_progress_towards_summarisation_reaches_100_before_the_window_is_full(settings):
    settings.SUMMARIZATION_THRESHOLD = 0.5
    history = messages("word " * 60)
    total, until = context_percentages(history, None, MessageBudget(10, 100, "openai"))
    assert total is not None and 50 < total < 100
    assert until == 100.0
