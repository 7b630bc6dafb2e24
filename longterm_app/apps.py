from __future__ import annotations

import logging
from typing import Any

from django.apps import AppConfig

from memoryserver.startup import register_layout_upgrade, register_warm_up

logger = logging.getLogger("memoryserver.startup")


def _upgrade_layout(client: Any) -> int:
    from longterm_app.maintenance import upgrade_key_layout

    return upgrade_key_layout(client)


def _index_ready() -> None:
    """The search index for the configured model exists (a changed model refuses to start)."""
    from longterm_app.services import ensure_memory_index, index_settings_warning

    ensure_memory_index()
    if warning := index_settings_warning():
        logger.warning(warning)


class LongTermAppConfig(AppConfig):
    name = "longterm_app"
    verbose_name = "Long-term memory"

    def ready(self) -> None:
        register_layout_upgrade("long-term memory", "long_term", _upgrade_layout)
        register_warm_up("search index", _index_ready)
