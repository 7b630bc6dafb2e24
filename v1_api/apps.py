from django.apps import AppConfig


class V1ApiConfig(AppConfig):
    name = "v1_api"
    verbose_name = "Upstream-compatible /v1 API"
