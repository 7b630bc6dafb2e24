from django.apps import AppConfig


class MemoryServerConfig(AppConfig):
    name = "memoryserver"
    verbose_name = "Agent Memory Server"
