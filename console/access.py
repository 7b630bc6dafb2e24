"""Who may use the console (active staff only), and the principal their actions run as."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from memoryserver.auth.principal import ADMIN, READ, WRITE, Principal
from memoryserver.redis import REDIS_UNAVAILABLE

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


def is_staff(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def staff_view(view: View) -> View:
    """Anonymous people go to the login page; logged-in non-staff get 403; Redis down is a 503 page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("console:login"))
        if not is_staff(request.user):
            return render(request, "console/403.html", status=403)
        try:
            return view(request, *args, **kwargs)
        except REDIS_UNAVAILABLE as error:
            logger.warning("Console: Redis unavailable: %s", type(error).__name__)
            return render(request, "console/unavailable.html", status=503)

    return wrapped


def admin_principal(request: HttpRequest) -> Principal:
    """The staff user as a caller of the services: every scope, every namespace and user."""
    return Principal(
        subject=f"console:{actor(request)}",
        method="console",
        scopes=frozenset({READ, WRITE, ADMIN}),
    )


def actor(request: HttpRequest) -> str:
    """The name the audit log records for the logged-in user."""
    return str(request.user.get_username())
