"""Run the bundled Redis (valkey-server + RediSearch + RedisJSON) in the foreground, or a
local Redis Cluster for working memory (`--cluster N`)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from memoryserver.errors import FeatureDisabled
from server.localredis import server_command


class Command(BaseCommand):
    help = (
        "Run a local Redis with the Query Engine and JSON from the installed wheels, "
        "keeping its data (AOF) in DATA_DIR/redis. Replaces this process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=settings.LOCAL_REDIS_PORT,
            help="Port to listen on (default LOCAL_REDIS_PORT, 6379).",
        )
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="Folder for the append-only file (default DATA_DIR/redis).",
        )
        parser.add_argument("--ephemeral", action="store_true", help="Keep nothing on disk.")
        parser.add_argument(
            "--cluster",
            type=int,
            metavar="N",
            help="Run a Redis Cluster of N primaries with JSON (for WORKING_MEMORY_REDIS_URL) on free "
            "ports instead, keeping nothing on disk, until stopped.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["cluster"] is not None:
            self._run_cluster(options["cluster"])
            return
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

    def _run_cluster(self, primaries: int) -> None:
        from server.localcluster import LocalCluster

        if primaries < 1:
            raise CommandError("--cluster needs at least 1 primary.")
        stopped = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        try:
            with LocalCluster(primaries=primaries) as cluster:
                self.stdout.write(f"WORKING_MEMORY_REDIS_URL={cluster.url}")
                self.stdout.flush()
                stopped.wait()
        except (FeatureDisabled, RuntimeError) as error:
            raise CommandError(str(error)) from None
