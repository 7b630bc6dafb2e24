"""get_current_datetime: today's date, for turning "yesterday" into a date before remembering it."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field


class CurrentDatetime(BaseModel):
    iso_utc: str = Field(description="Now in ISO-8601, UTC, e.g. 2025-08-14T23:59:59Z.")
    unix_ts: int = Field(description="Now in epoch seconds.")


async def get_current_datetime() -> CurrentDatetime:
    """The current date and time in UTC.

    Call it whenever the user says something relative to now ("today", "yesterday", "last
    week", "in two days") before you store or search memories: write the absolute date
    into the memory's text and set its event_date.

    Example: the user says "I was promoted today" -> get_current_datetime() returns
    {"iso_utc": "2025-08-14T15:02:11Z", ...} -> create_long_term_memories(memories=[{"text":
    "User was promoted to Principal Engineer on 2025-08-14", "memory_type": "episodic",
    "event_date": "2025-08-14T15:02:11Z"}])
    """
    moment = datetime.now(UTC).replace(microsecond=0)
    return CurrentDatetime(iso_utc=moment.isoformat().replace("+00:00", "Z"), unix_ts=int(moment.timestamp()))
