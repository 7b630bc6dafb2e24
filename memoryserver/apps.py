from django.apps import AppConfig


class MemoryServerConfig(AppConfig):
    name = "memoryserver"
    verbose_name = "Agent Memory Server"

    def ready(self) -> None:
        from memoryserver import redis  # noqa: F401  (connects the settings-change receiver)
