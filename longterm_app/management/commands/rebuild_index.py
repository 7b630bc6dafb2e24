"""Recreate the long-term memory search index from the stored memories."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from longterm_app.maintenance import rebuild_index
from longterm_app.repositories.index import stored_model
from memoryserver.redis import get_redis
from providers.embeddings import get_embedder


class Command(BaseCommand):
    help = (
        "Drop and recreate the memory search index; stored memories are kept. With --reembed, "
        "first re-embed every memory with the configured embedding model (needed after changing it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reembed", action="store_true", help="Recompute every vector first.")

    def handle(self, *args: Any, **options: Any) -> None:
        client = get_redis("long_term")
        embedder = get_embedder()
        built_with = stored_model(client)
        if built_with and built_with != embedder.identity and not options["reembed"]:
            raise CommandError(
                f"The stored vectors come from '{built_with}' but the configured model is "
                f"'{embedder.identity}'. Run with --reembed to recompute them."
            )
        size = rebuild_index(client, embedder, reembed_vectors=options["reembed"])
        self.stdout.write(f"Index rebuilt for {embedder.identity}: {size} memories indexed.")
