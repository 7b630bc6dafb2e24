"""Functions for the worker tests to run on the real queues."""

from __future__ import annotations


def explode(detail: str) -> None:
    raise RuntimeError(f"boom: {detail}")


def succeed() -> str:
    return "ok"
