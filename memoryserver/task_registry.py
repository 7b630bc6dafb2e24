"""The background tasks an operator may schedule by name (`manage.py schedule_task`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSpec:
    queue: str
    summary: str


TASKS: dict[str, TaskSpec] = {
    "longterm_app.tasks.compact_memories": TaskSpec(
        "default",
        "Merge exact and near-duplicate long-term memories. Arguments: namespace, user_id, "
        "dry_run, distance_threshold, limit, repeat_every_seconds (run again after that long).",
    ),
    "longterm_app.tasks.tag_memories": TaskSpec(
        "extraction", "Fill missing topics and entities. Arguments: namespace, memory_ids (comma-separated)."
    ),
    "longterm_app.tasks.index_memories": TaskSpec("default", "Embed and store a batch of memory records."),
    "summary_views_app.tasks.refresh_view": TaskSpec(
        "summarization", "Summarise every partition of a summary view. Arguments: view_id."
    ),
    "summary_views_app.tasks.refresh_continuous_views": TaskSpec(
        "default", "Refresh every continuous summary view, then again every SUMMARY_VIEW_REFRESH_MINUTES."
    ),
    "sessions_app.tasks.summarize_session": TaskSpec(
        "summarization",
        "Fold a session's oldest messages into its summary. Arguments: namespace, user_id, "
        "session_id, window_size, max_tokens.",
    ),
    "sessions_app.tasks.promote_session_memories": TaskSpec(
        "default", "Promote a session's structured memories. Arguments: namespace, user_id, session_id."
    ),
    "sessions_app.tasks.extract_session_memories": TaskSpec(
        "extraction", "Extract long-term memories from a session. Arguments: namespace, user_id, session_id."
    ),
}


def typed(value: str) -> bool | int | float | str | None:
    """A command-line value as the type it spells: true/false, none/null, integers, floats, else text."""
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value
