from __future__ import annotations

import json

import pytest

from memoryserver.tokens import count_message, count_text, resolve_model
from upstream.contract import UPSTREAM_OPENAPI


@pytest.mark.parametrize(
    ("name", "resolved", "window"),
    [
        ("gpt-4o", "gpt-4o", 128_000),
        ("gpt-4o-2024-08-06", "gpt-4o", 128_000),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini", 128_000),
        ("GPT-4", "gpt-4", 8_192),
        ("gpt-4.1-mini", "gpt-4.1-mini", 1_047_576),
        ("o1-mini-2024-09-12", "o1-mini", 128_000),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet", 200_000),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet", 200_000),
        ("claude-opus-4-1-20250805", "claude-opus-4-1", 200_000),
    ],
)
def test_model_names_resolve_by_longest_prefix(name, resolved, window):
    spec = resolve_model(name)
    assert spec is not None and (spec.name, spec.context_window) == (resolved, window)


def test_every_model_name_of_the_upstream_api_resolves():
    schema = json.loads(UPSTREAM_OPENAPI.read_text())
    (model_names,) = (
        parameter["schema"]["anyOf"][0]["enum"]
        for parameter in schema["paths"]["/v1/working-memory/{session_id}"]["get"]["parameters"]
        if parameter["name"] == "model_name"
    )
    assert [name for name in model_names if resolve_model(name) is None] == []


@pytest.mark.parametrize("name", ["gpt", "gpt-4oo", "llama-3", "claude", ""])
def test_unknown_models(name):
    assert resolve_model(name) is None


def test_counts():
    assert count_text("") == 0
    assert count_text("hello world") == 2
    assert count_text("hello world " * 10) == 21  # the trailing space is a token
    assert count_text("hello world " * 10, "anthropic") == 26  # ceil(21 * 1.2)
    assert count_message("hello world") == 6
