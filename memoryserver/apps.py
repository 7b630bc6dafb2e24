from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class MemoryServerConfig(AppConfig):
    name = "memoryserver"
    verbose_name = "Agent Memory Server"

    def ready(self) -> None:
        # Every command (manage.py, agent-memory, the ASGI app) may need the data folder:
        # the database of `migrate`, the local Redis's AOF, collected static files.
        try:
            settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ImproperlyConfigured(
                f"Config 'DATA_DIR' has value '{settings.DATA_DIR}'. It cannot be created: {error.strerror}."
            ) from None
