"""Run background workers on every queue the server uses (see server/worker.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from memoryserver.redis import REDIS_UNAVAILABLE
from server.cli import positive_int
from server.worker import run_pool, run_worker


class Command(BaseCommand):
    help = (
        f"Run background workers on all task queues ({', '.join(settings.TASK_QUEUES)}). Each worker "
        "process runs one job at a time and loads the embedding model once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--burst", action="store_true", help="Exit when the queues are empty.")
        parser.add_argument(
            "--concurrency",
            type=positive_int,
            default=1,
            metavar="N",
            help="Worker processes to run (default 1): N jobs at once, N copies of the embedding model.",
        )
        parser.add_argument(
            "--redelivery-timeout",
            type=positive_int,
            default=None,
            metavar="SECONDS",
            help="Job timeout: a job running longer is stopped and retried, and a job whose worker "
            "died is redelivered after SECONDS + 60 s (default: each job's own timeout, 300 s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        timeout = options["redelivery_timeout"]
        if options["concurrency"] > 1:
            child_options = ["--burst"] if options["burst"] else []
            if timeout is not None:
                child_options += ["--redelivery-timeout", str(timeout)]
            code = run_pool(options["concurrency"], child_options)
            if code:
                raise CommandError(f"A worker process exited with status {code}.", returncode=code)
            return
        try:
            run_worker(burst=options["burst"], redelivery_timeout=timeout)
        except REDIS_UNAVAILABLE as error:
            raise CommandError(f"Redis is unreachable: {error}") from None
