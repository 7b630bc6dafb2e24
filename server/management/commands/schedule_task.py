"""Queue a registered background task with typed arguments, like the seed's `schedule-task`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from memoryserver.queues import enqueue
from memoryserver.task_registry import (
    TASK_ALIASES,
    TASKS,
    BadTaskArguments,
    checked_arguments,
    resolve,
    typed,
)


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
            for alias, target in TASK_ALIASES.items():
                self.stdout.write(f"{alias}\n    alias of {target.task}")
            return
        kwargs: dict[str, Any] = {}
        for item in options["arg"]:
            key, sep, value = item.partition("=")
            if not sep or not key.strip().isidentifier():
                raise CommandError(f"Argument '{item}' is not KEY=VALUE.", returncode=2)
            kwargs[key.strip()] = typed(value)
        try:
            path, kwargs = resolve(options["task_path"], kwargs)
        except KeyError:
            known = "\n  ".join([*TASKS, *TASK_ALIASES])
            raise CommandError(
                f"Unknown task '{options['task_path']}'. Registered tasks:\n  {known}", returncode=2
            ) from None
        if path.endswith(".tag_memories") and isinstance(kwargs.get("memory_ids"), str):
            kwargs["memory_ids"] = [part for part in kwargs["memory_ids"].split(",") if part]
        try:
            kwargs = checked_arguments(path, kwargs)
        except BadTaskArguments as error:
            raise CommandError(str(error), returncode=2) from None
        queue = TASKS[path].queue
        job_id = enqueue(queue, path, **kwargs)
        self.stdout.write(f"Queued {path} on '{queue}' as job {job_id}")
