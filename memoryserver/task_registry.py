"""The background tasks an operator may schedule by name (`manage.py schedule_task`).

Arguments are checked against the task function's signature and annotations before anything
is queued, so a typo fails at once instead of in the worker, four times over minutes. The
seed's and the upstream server's task names are accepted as aliases, with their argument
names translated.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError


@dataclass(frozen=True)
class TaskSpec:
    queue: str
    summary: str


TASKS: dict[str, TaskSpec] = {
    "longterm_app.tasks.compact_memories": TaskSpec(
        "default",
        "Merge exact and near-duplicate long-term memories. Arguments: namespace, user_id, "
        "dry_run, distance_threshold, limit, repeat_every_seconds (run again after that long), "
        "exact_duplicates, near_duplicates (false: leave that kind alone).",
    ),
    "longterm_app.tasks.tag_memories": TaskSpec(
        "extraction", "Fill missing topics and entities. Arguments: namespace, memory_ids (comma-separated)."
    ),
    "longterm_app.tasks.index_memories": TaskSpec("default", "Embed and store a batch of memory records."),
    "longterm_app.tasks.fit_namespace_topics": TaskSpec(
        "default", "Fit a namespace's BERTopic topics and tag its memories. Arguments: namespace."
    ),
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


@dataclass(frozen=True)
class TaskAlias:
    """Another server's name of one of our tasks, and its argument names in ours."""

    task: str
    renamed: dict[str, str] = field(default_factory=dict)


TASK_ALIASES: dict[str, TaskAlias] = {
    "agent_memory_server.long_term_memory.compact_long_term_memories": TaskAlias(
        "longterm_app.tasks.compact_memories",
        {
            "vector_distance_threshold": "distance_threshold",
            "compact_hash_duplicates": "exact_duplicates",
            "compact_semantic_duplicates": "near_duplicates",
        },
    ),
    "agent_memory_server.long_term_memory.promote_working_memory_to_long_term": TaskAlias(
        "sessions_app.tasks.promote_session_memories"
    ),
}


class BadTaskArguments(ValueError):
    """The arguments do not fit the task's signature; the message names the first bad one."""


def resolve(path: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Our task path and argument names for `path`, which may be an alias; KeyError if unknown."""
    if path in TASKS:
        return path, arguments
    alias = TASK_ALIASES[path]
    return alias.task, {alias.renamed.get(name, name): value for name, value in arguments.items()}


def _function(path: str) -> Callable[..., Any]:
    module, name = path.rsplit(".", 1)
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


def checked_arguments(path: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments, validated against the task's parameters and their types."""
    function = _function(path)
    signature = inspect.signature(function)
    valid = ", ".join(f"{name}: {_shown(p)}" for name, p in signature.parameters.items())
    unknown = [name for name in arguments if name not in signature.parameters]
    if unknown:
        raise BadTaskArguments(f"'{unknown[0]}' is not an argument of {path}. Valid arguments: {valid}.")
    try:
        signature.bind(**arguments)
    except TypeError as error:
        raise BadTaskArguments(f"{error} of {path}. Valid arguments: {valid}.") from None
    hints = typing.get_type_hints(function)
    checked = {}
    for name, value in arguments.items():
        try:
            checked[name] = TypeAdapter(hints.get(name, Any)).validate_python(value, strict=False)
        except ValidationError as error:
            problem = error.errors()[0]["msg"]
            raise BadTaskArguments(f"Argument '{name}' has value {value!r}: {problem}.") from None
    return checked


def _shown(parameter: inspect.Parameter) -> str:
    annotation = str(parameter.annotation).replace("typing.", "")
    if parameter.default is inspect.Parameter.empty:
        return f"{annotation} (required)"
    return f"{annotation} = {parameter.default!r}"


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
