"""Queue a registered background task with typed arguments, like the seed's `schedule-task`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from memoryserver.queues import enqueue
from memoryserver.task_registry import TASKS, typed


class Command(BaseCommand):
    help = "Queue a background task: schedule_task TASK_PATH -a key=value ... (see --list)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("task_path", nargs="?", help="Dotted path of a registered task.")
        parser.add_argument(
            "-a",
            "--arg",
            "--args",
            dest="arg",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="A keyword argument; true/false, integers and floats are typed, the rest is text.",
        )
        parser.add_argument("--list", action="store_true", help="List the registered tasks.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"] or not options["task_path"]:
            for path, spec in TASKS.items():
                self.stdout.write(f"{path}  [{spec.queue}]\n    {spec.summary}")
            return
        path = options["task_path"]
        if path not in TASKS:
            known = "\n  ".join(TASKS)
            raise CommandError(f"Unknown task '{path}'. Registered tasks:\n  {known}")
        kwargs: dict[str, Any] = {}
        for item in options["arg"]:
            key, sep, value = item.partition("=")
            if not sep or not key.strip().isidentifier():
                raise CommandError(f"Argument '{item}' is not KEY=VALUE.")
            kwargs[key.strip()] = typed(value)
        if path.endswith(".tag_memories") and isinstance(kwargs.get("memory_ids"), str):
            kwargs["memory_ids"] = [part for part in kwargs["memory_ids"].split(",") if part]
        queue = TASKS[path].queue
        job_id = enqueue(queue, path, **kwargs)
        self.stdout.write(f"Queued {path} on '{queue}' as job {job_id}")
