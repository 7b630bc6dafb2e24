from django.apps import AppConfig


class LongTermAppConfig(AppConfig):
    name = "longterm_app"
    verbose_name = "Long-term memory"
