"""Apply versioned data migrations to stored memories (re-entrant)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from longterm_app.maintenance import migrate
from longterm_app.repository import migration_version
from memoryserver.redis import get_redis


class Command(BaseCommand):
    help = "Apply the memory data migrations newer than the stored version. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        client = get_redis("long_term")
        applied = migrate(client)
        for migration, changed in applied:
            self.stdout.write(f"Applied {migration.version}: {migration.description} ({changed} memories)")
        version = migration_version(client)
        self.stdout.write(
            f"Memory data is at version {version}." if applied else f"Up to date (version {version})."
        )
