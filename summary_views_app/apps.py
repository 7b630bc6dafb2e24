from django.apps import AppConfig


class SummaryViewsAppConfig(AppConfig):
    name = "summary_views_app"
    verbose_name = "Summary views"
