"""The console's Redis keys: its audit log (console.audit says what an entry holds).

Layout
- `console:audit`  a Redis Stream capped near MAX_ENTRIES, on the working-memory Redis; the
                   entry id carries the time
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis

from memoryserver.redis import text

STREAM = "console:audit"
MAX_ENTRIES = 10_000


def append_entry(client: redis.Redis, fields: Mapping[Any, Any]) -> str:
    """Append an entry and return its id; the stream keeps about the newest MAX_ENTRIES."""
    entry_id = client.xadd(STREAM, dict(fields), maxlen=MAX_ENTRIES, approximate=True)
    return text(entry_id)


def newest_entries(client: redis.Redis, before: str | None, count: int) -> list[tuple[str, dict[Any, Any]]]:
    """Up to `count` (id, fields) older than the entry `before` (else the newest), newest first."""
    newest = f"({before}" if before else "+"
    replies: list[tuple[bytes, dict[bytes, bytes]]] = client.xrevrange(  # type: ignore[assignment]
        STREAM, max=newest, min="-", count=count
    )
    return [(text(entry_id), fields) for entry_id, fields in replies]


def entry_count(client: redis.Redis) -> int:
    return int(client.xlen(STREAM))
