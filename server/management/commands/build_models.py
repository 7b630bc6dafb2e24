"""Build the local embedding models into MODEL_DIR ahead of time (an image build, a deploy
step), so that no server or worker builds one at its first start."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from memoryserver.errors import FeatureDisabled
from providers.embeddings.local import DEFAULT_MODEL, LOCAL_MODELS, LocalModel, local_model


class Command(BaseCommand):
    help = (
        "Build local embedding models from the weights their packages ship into MODEL_DIR "
        "(default DATA_DIR/models); a model already built there is kept. Servers whose "
        "MODEL_DIR holds the build start without building (MODEL_DIR may then be read-only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        names = ", ".join(model.name for model in LOCAL_MODELS)
        parser.add_argument(
            "models",
            nargs="*",
            metavar="MODEL",
            help=f"Models to build ({names}); default the one EMBEDDING_MODEL names.",
        )
        parser.add_argument("--all", action="store_true", help="Build every local model.")

    def handle(self, *args: Any, **options: Any) -> None:
        for model in _chosen(options["models"], options["all"]):
            try:
                files = model.files()
            except FeatureDisabled as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"{model.name}: {files.model.parent}")


def _chosen(names: list[str], every: bool) -> tuple[LocalModel, ...]:
    if every:
        return LOCAL_MODELS
    known = ", ".join(model.name for model in LOCAL_MODELS)
    if not names:
        configured = settings.EMBEDDING_MODEL or DEFAULT_MODEL.name
        model = local_model(configured)
        if model is None:
            raise CommandError(
                f"EMBEDDING_MODEL '{configured}' is not a local model: name one of {known}, or use --all."
            )
        return (model,)
    chosen = []
    for name in names:
        model = local_model(name)
        if model is None:
            raise CommandError(f"'{name}' is not a local model: use one of {known}.")
        chosen.append(model)
    return tuple(chosen)
