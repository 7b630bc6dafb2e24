"""What every /v1 view shares: upstream's error shapes, the Warning header, list parameters."""

from __future__ import annotations

import re

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


# A header value carries printable ASCII only; a quote or backslash would end the text.
_HEADER_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\]')


def warning_header(text: str) -> str:
    """An HTTP Warning (RFC 7234: code 299, a persistent miscellaneous warning) saying `text`."""
    return f'299 - "{_HEADER_UNSAFE.sub("?", text)}"'


def respond(model: BaseModel, warning: str | None = None, status: int = 200) -> HttpResponse:
    response = json_response(model, status=status)
    if warning:
        response["Warning"] = warning_header(warning)
    return response


def listed(request: Request, name: str) -> list[str]:
    """A list query parameter, repeated (`?a=1&a=2`) or comma-separated (`?a=1,2`)."""
    return [part for value in request.query_params.getlist(name) for part in value.split(",") if part]
