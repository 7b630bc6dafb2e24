"""What every /v1 view shares: upstream's error shapes, the Warning header, list parameters."""

from __future__ import annotations

from django.http import HttpResponse
from pydantic import BaseModel
from rest_framework.request import Request

from rest.errors import Translated
from rest.plumbing import ApiView, json_response
from rest.v1.errors import translate_v1


class V1View(ApiView):
    """An API view whose validation errors take upstream's shape (see rest.v1.errors)."""

    @staticmethod
    def translate(exc: Exception) -> Translated | None:
        return translate_v1(exc)


def respond(model: BaseModel, warning: str | None = None, status: int = 200) -> HttpResponse:
    response = json_response(model, status=status)
    if warning:
        response["Warning"] = warning
    return response


def listed(request: Request, name: str) -> list[str]:
    """A list query parameter, repeated (`?a=1&a=2`) or comma-separated (`?a=1,2`)."""
    return [part for value in request.query_params.getlist(name) for part in value.split(",") if part]
