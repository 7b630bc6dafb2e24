"""Job functions for the task tests to run on the real RQ queues (RQ imports them by name)."""

from __future__ import annotations

from typing import Any

from rq import get_current_job

from upstream.task_status import task_v1


def finish() -> str:
    return "done"


def explode(detail: str) -> None:
    raise RuntimeError(f"boom: {detail}")


def report(result: dict[str, Any]) -> dict[str, Any]:
    """Finish with `result`, e.g. a job's way of saying it skipped its work."""
    return result


def describe_itself() -> dict[str, Any]:
    """How the job looks to a /v1 client while it runs (the only moment it is 'running')."""
    job = get_current_job()
    assert job is not None
    return task_v1(job).model_dump()
