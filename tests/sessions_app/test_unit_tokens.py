"""Token counting and the model registry, beyond tests/memoryserver/test_tokens.py: the rules
the window code relies on (families, rounding, the uncached path for long texts)."""

from __future__ import annotations

import math

import pytest
import tiktoken

from memoryserver.tokens import (
    ANTHROPIC_TOKEN_FACTOR,
    ENCODING_NAME,
    MESSAGE_OVERHEAD_TOKENS,
    MODELS,
    count_message,
    count_messages,
    count_text,
    resolve_model,
)

ENCODING = tiktoken.get_encoding(ENCODING_NAME)


def test_every_registered_model_resolves_to_itself_with_a_positive_window():
    for name, spec in MODELS.items():
        assert resolve_model(name) == spec and spec.name == name and spec.context_window > 0


@pytest.mark.parametrize(
    ("name", "resolved"),
    [
        ("  gpt-4o  ", "gpt-4o"),
        ("Claude-Sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("gpt-4-32k-0613", "gpt-4-32k"),
        ("gpt-4-turbo-2024-04-09", "gpt-4-turbo"),
        ("o3-mini-high", "o3-mini"),
    ],
)
def test_a_model_name_resolves_ignoring_case_spaces_and_suffixes(name, resolved):
    spec = resolve_model(name)
    assert spec is not None and spec.name == resolved


@pytest.mark.parametrize(
    ("name", "window"),
    [
        # A window larger than the model's would let a trimmed session overflow the client.
        ("gpt-3.5-turbo-0613", 4_096),
        ("gpt-3.5-turbo-instruct", 4_096),
        ("gpt-3.5-turbo-0125", 16_385),
        ("gpt-4-1106-preview", 128_000),
        ("gpt-4-0613", 8_192),
    ],
)
def test_dated_models_whose_window_differs_from_their_familys_get_their_own(name, window):
    spec = resolve_model(name)
    assert spec is not None and spec.context_window == window


@pytest.mark.parametrize("name", ["gpt-4o_mini", "xgpt-4o", "claude-3-5", "gpt-4o mini"])
def test_a_known_name_followed_by_anything_but_a_dash_is_unknown(name):
    assert resolve_model(name) is None


def test_anthropic_counts_round_up_so_a_trimmed_window_still_fits():
    one_token = "hello"
    assert count_text(one_token) == 1
    assert count_text(one_token, "anthropic") == 2  # ceil(1.2)
    text = "the quick brown fox " * 7
    assert count_text(text, "anthropic") == math.ceil(count_text(text) * ANTHROPIC_TOKEN_FACTOR)


def test_a_long_text_is_counted_exactly_as_the_encoding_counts_it():
    text = "Remember the milk, then call Ada about the 3 p.m. meeting. " * 400  # past the cache limit
    assert len(text) > 8192
    assert count_text(text) == len(ENCODING.encode_ordinary(text))


def test_each_message_costs_its_framing_on_top_of_its_text():
    contents = ["hi", "", "a longer message with several words"]
    assert count_message("") == MESSAGE_OVERHEAD_TOKENS
    assert count_messages(contents) == sum(count_text(c) for c in contents) + 3 * MESSAGE_OVERHEAD_TOKENS
    assert count_messages(contents, "anthropic") == sum(count_message(c, "anthropic") for c in contents)
    assert count_messages([]) == 0
