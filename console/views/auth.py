"""Console login and logout: Django's staff login, with OIDC offered when it is configured."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import reverse


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"

    def get_default_redirect_url(self) -> str:
        return reverse("console:dashboard")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["oidc_login_url"] = settings.LOGIN_URL if settings.OIDC_ENABLED else None
        return context


class LogoutView(auth_views.LogoutView):
    next_page = "console:login"
