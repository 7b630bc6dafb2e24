"""Enqueue background jobs on the django-rq queues named in settings.TASK_QUEUES."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_rq
from rq import Retry

from memoryserver.redis import get_redis

DEFAULT_RETRY = Retry(max=3, interval=[5, 30, 120])
# Results stay readable through GET /tasks/{id} for a day.
RESULT_TTL_SECONDS = 86_400


def enqueue(queue_name: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Queue `func(*args, **kwargs)` with retries and return the job id."""
    queue = django_rq.get_queue(queue_name, connection=get_redis())
    job = queue.enqueue(func, args=args, kwargs=kwargs, retry=DEFAULT_RETRY, result_ttl=RESULT_TTL_SECONDS)
    return str(job.id)
