"""Token accounting per task: one log line per call and counters in Redis
(memoryserver.repositories.llm_usage). Accounting never fails a model call: when Redis is
down it logs a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from memoryserver.errors import BackendUnavailable
from memoryserver.redis import REDIS_FAILED, get_redis
from memoryserver.repositories.llm_usage import add_call, read_totals

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)


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
        add_call(get_redis(), task, usage.input_tokens, usage.output_tokens)
    except REDIS_FAILED as error:
        log.warning("LLM usage for task '%s' was not counted: Redis failed (%s)", task, error)


def usage_totals() -> dict[str, dict[str, int]]:
    """{task: {"calls", "input_tokens", "output_tokens"}} for every task counted so far."""
    client = get_redis()
    try:
        return read_totals(client)
    except REDIS_FAILED as error:
        raise BackendUnavailable(f"LLM usage totals cannot be read: Redis failed ({error}).") from None
