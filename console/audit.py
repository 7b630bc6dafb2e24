"""The console's audit log: every write made from the console, newest first.

Each entry (stored by console.repository) holds `actor`, `action`, `target` and `details`
(JSON); its id carries the time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from memoryserver.redis import RedisClient, text

from .repository import append_entry, entry_count, newest_entries

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


def _field(fields: dict[Any, Any], name: str) -> str:
    return text(fields.get(name.encode(), fields.get(name, b"")))


def _entry(entry_id: str, fields: dict[Any, Any]) -> AuditEntry:
    details = _field(fields, "details")
    return AuditEntry(
        id=entry_id,
        actor=_field(fields, "actor"),
        action=_field(fields, "action"),
        target=_field(fields, "target"),
        details=orjson.loads(details) if details else {},
    )


class AuditLog:
    def __init__(self, client: RedisClient) -> None:
        self.client = client

    def record(self, actor: str, action: str, target: str, details: dict[str, Any] | None = None) -> str:
        """Append an entry; the log keeps about the newest console.repository.MAX_ENTRIES."""
        fields = {
            "actor": actor,
            "action": action,
            "target": target,
            "details": orjson.dumps(details or {}, option=orjson.OPT_NON_STR_KEYS),
        }
        return append_entry(self.client, fields)

    def page(self, before: str | None = None, count: int = 50) -> list[AuditEntry]:
        """Up to `count` entries older than `before` (an entry id), newest first."""
        return [_entry(entry_id, fields) for entry_id, fields in newest_entries(self.client, before, count)]

    def total(self) -> int:
        return entry_count(self.client)
