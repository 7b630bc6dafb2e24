"""The console's audit log: every write made from the console, newest first.

Layout
- `console:audit`  a Redis Stream capped near MAX_ENTRIES; each entry holds `actor`,
                   `action`, `target` and `details` (JSON). The entry id carries the time.

Only this module touches the stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import redis

STREAM = "console:audit"
MAX_ENTRIES = 10_000
_ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")


@dataclass(frozen=True)
class AuditEntry:
    id: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]

    @property
    def at(self) -> datetime:
        """When it happened: the stream id's milliseconds."""
        return datetime.fromtimestamp(int(self.id.split("-", 1)[0]) / 1000, tz=UTC)


def is_entry_id(value: str) -> bool:
    return bool(_ENTRY_ID.fullmatch(value))


def _text(fields: dict[Any, Any], name: str) -> str:
    value = fields.get(name.encode(), fields.get(name, b""))
    return value.decode() if isinstance(value, bytes) else str(value)


def _entry(entry_id: bytes | str, fields: dict[Any, Any]) -> AuditEntry:
    details = _text(fields, "details")
    return AuditEntry(
        id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
        actor=_text(fields, "actor"),
        action=_text(fields, "action"),
        target=_text(fields, "target"),
        details=orjson.loads(details) if details else {},
    )


class AuditLog:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def record(self, actor: str, action: str, target: str, details: dict[str, Any] | None = None) -> str:
        """Append an entry; the stream keeps about the newest MAX_ENTRIES."""
        fields = {
            "actor": actor,
            "action": action,
            "target": target,
            "details": orjson.dumps(details or {}, option=orjson.OPT_NON_STR_KEYS),
        }
        entry_id = self.client.xadd(STREAM, fields, maxlen=MAX_ENTRIES, approximate=True)  # type: ignore[arg-type]
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    def page(self, before: str | None = None, count: int = 50) -> list[AuditEntry]:
        """Up to `count` entries older than `before` (an entry id), newest first."""
        newest = f"({before}" if before else "+"
        replies: list[tuple[bytes, dict[bytes, bytes]]] = self.client.xrevrange(  # type: ignore[assignment]
            STREAM, max=newest, min="-", count=count
        )
        return [_entry(entry_id, fields) for entry_id, fields in replies]

    def total(self) -> int:
        return int(self.client.xlen(STREAM))
