"""Run the bundled Redis (valkey-server + RediSearch + RedisJSON) in the foreground."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from memoryserver.errors import FeatureDisabled
from memoryserver.localredis import server_command


class Command(BaseCommand):
    help = (
        "Run a local Redis with the Query Engine and JSON from the installed wheels, "
        "keeping its data (AOF) in DATA_DIR/redis. Replaces this process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=6379, help="Port to listen on (default 6379).")
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="Folder for the append-only file (default DATA_DIR/redis).",
        )
        parser.add_argument("--ephemeral", action="store_true", help="Keep nothing on disk.")

    def handle(self, *args: Any, **options: Any) -> None:
        data_dir = (
            None if options["ephemeral"] else (options["data_dir"] or Path(settings.DATA_DIR) / "redis")
        )
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
        try:
            command = server_command(options["port"], data_dir)
        except FeatureDisabled as error:
            raise CommandError(str(error)) from None
        self.stderr.write(f"Starting {Path(command[0]).name} on port {options['port']}")
        os.execv(command[0], command)
