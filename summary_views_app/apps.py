from typing import Any

from django.apps import AppConfig

from memoryserver.startup import register_layout_upgrade


def _upgrade_layout(client: Any) -> int:
    from summary_views_app.repository import upgrade_layout

    return upgrade_layout(client)


class SummaryViewsAppConfig(AppConfig):
    name = "summary_views_app"
    verbose_name = "Summary views"

    def ready(self) -> None:
        register_layout_upgrade("summary view", "long_term", _upgrade_layout)
