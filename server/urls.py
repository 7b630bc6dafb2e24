from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerView

from rest.seed.health import HealthView
from rest.seed.info import InfoView
from rest.seed.metrics import MetricsView
from rest.seed.task_status import TaskView

urlpatterns = [
    path("health", HealthView.as_view(), name="health"),
    path("info", InfoView.as_view(), name="info"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="docs"),
    path("redoc", SpectacularRedocView.as_view(url_name="openapi-schema"), name="redoc"),
    path("admin/", admin.site.urls),
    path("console/", include("console.urls")),
    path("tasks/<str:task_id>", TaskView.as_view(), name="task"),
    path("", include("rest.seed.urls")),
    path("v1/", include("rest.v1.urls")),
]

if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))

handler400 = "rest.errors.bad_request"
handler404 = "rest.errors.not_found"
handler500 = "rest.errors.server_error"
