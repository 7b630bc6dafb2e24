"""Functions for the worker tests to run on the real queues."""

from __future__ import annotations


def explode(detail: str) -> None:
    raise RuntimeError(f"boom: {detail}")


def succeed() -> str:
    return "ok"


def report_running() -> list[str]:
    """What the console lists as running while this job runs."""
    from console.jobs import queue_jobs

    return [job.id for job in queue_jobs("default").started]
