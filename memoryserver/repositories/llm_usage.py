"""Token counters per task (providers.llm.usage does the accounting).

Layout
- `llm_usage:<task>`  hash: `calls`, `input_tokens`, `output_tokens` of that task's model calls
"""

from __future__ import annotations

import redis

from memoryserver.redis import text

KEY_PREFIX = "llm_usage:"
FIELDS = ("calls", "input_tokens", "output_tokens")


def usage_key(task: str) -> str:
    return f"{KEY_PREFIX}{task}"


def add_call(client: redis.Redis, task: str, input_tokens: int, output_tokens: int) -> None:
    """One more call of the task, with its tokens."""
    key = usage_key(task)
    with client.pipeline(transaction=False) as pipe:
        pipe.hincrby(key, "calls", 1)
        pipe.hincrby(key, "input_tokens", input_tokens)
        pipe.hincrby(key, "output_tokens", output_tokens)
        pipe.execute()


def task_counters(client: redis.Redis) -> dict[str, dict[str, int]]:
    """{task: {field: count}} of every task counted so far, as stored."""
    keys = sorted(text(key) for key in client.scan_iter(match=f"{KEY_PREFIX}*", count=100))
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hgetall(key)
        hashes = pipe.execute()
    return {
        key.removeprefix(KEY_PREFIX): {text(name): int(value) for name, value in fields.items()}
        for key, fields in zip(keys, hashes, strict=True)
    }


def read_totals(client: redis.Redis) -> dict[str, dict[str, int]]:
    """{task: {"calls", "input_tokens", "output_tokens"}} for every task counted so far (a
    counter never written counts 0)."""
    return {
        task: {name: values.get(name, 0) for name in FIELDS} for task, values in task_counters(client).items()
    }
