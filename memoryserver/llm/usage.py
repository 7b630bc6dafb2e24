"""Token accounting per task: one log line per call and counters in Redis.

Each task has a hash `llm_usage:{task}` with the fields `calls`, `input_tokens` and
`output_tokens`. Accounting never fails a model call: when Redis is down it logs a warning.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis

from memoryserver.errors import BackendUnavailable
from memoryserver.redis import get_redis

if TYPE_CHECKING:
    from memoryserver.llm.base import Usage

log = logging.getLogger(__name__)

KEY_PREFIX = "llm_usage:"
FIELDS = ("calls", "input_tokens", "output_tokens")


def usage_key(task: str) -> str:
    return f"{KEY_PREFIX}{task}"


def record_usage(task: str, model: str, provider: str, usage: Usage) -> None:
    """Log one model call and add it to the task's counters."""
    log.info(
        "LLM call task=%s model=%s provider=%s input_tokens=%d output_tokens=%d",
        task,
        model,
        provider,
        usage.input_tokens,
        usage.output_tokens,
    )
    try:
        pipe = get_redis().pipeline(transaction=False)
        key = usage_key(task)
        pipe.hincrby(key, "calls", 1)
        pipe.hincrby(key, "input_tokens", usage.input_tokens)
        pipe.hincrby(key, "output_tokens", usage.output_tokens)
        pipe.execute()
    except redis.RedisError as error:
        log.warning("LLM usage for task '%s' was not counted: Redis failed (%s)", task, error)


def usage_totals() -> dict[str, dict[str, int]]:
    """{task: {"calls", "input_tokens", "output_tokens"}} for every task counted so far."""
    client = get_redis()
    try:
        keys = sorted(_text(key) for key in client.scan_iter(match=f"{KEY_PREFIX}*", count=100))
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        hashes = pipe.execute()
    except redis.RedisError as error:
        raise BackendUnavailable(f"LLM usage totals cannot be read: Redis failed ({error}).") from None
    totals = {}
    for key, fields in zip(keys, hashes, strict=True):
        values = {_text(name): int(value) for name, value in fields.items()}
        totals[key.removeprefix(KEY_PREFIX)] = {name: values.get(name, 0) for name in FIELDS}
    return totals


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
