from typing import Any

from django.apps import AppConfig

from memoryserver.startup import register_layout_upgrade


def _upgrade_layout(client: Any) -> int:
    from sessions_app.repository import upgrade_layout

    return upgrade_layout(client)


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Working memory"

    def ready(self) -> None:
        register_layout_upgrade("working-memory", "working", _upgrade_layout)
