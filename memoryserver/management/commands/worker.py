"""Run a django-rq worker on every queue the server uses.

It is an RQ SimpleWorker: jobs run in the worker process instead of a fork per job, so
the embedding model and tokenizers load once, not once per job (onnxruntime's thread
pool does not survive a fork either).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = f"Run one background worker on all task queues ({', '.join(settings.TASK_QUEUES)})."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--burst", action="store_true", help="Exit when the queues are empty.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command(
            "rqworker",
            *settings.TASK_QUEUES,
            burst=options["burst"],
            with_scheduler=True,
            worker_class="rq.worker.SimpleWorker",
        )
