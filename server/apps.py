from django.apps import AppConfig


class ServerConfig(AppConfig):
    """Registers the operators' manage.py commands (server/management/commands)."""

    name = "server"
    verbose_name = "Server processes"
