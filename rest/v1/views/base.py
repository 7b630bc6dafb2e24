"""What every /v1 view shares: upstream's error shapes, store factories, the Warning header."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter
from pydantic import BaseModel
from rest_framework.request import Request

from rest.plumbing import ApiView, json_response
from rest.v1.errors import v1_exception_handler


class V1View(ApiView):
    """An API view whose validation errors take upstream's shape (see rest.v1.errors)."""

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Any]:
        return v1_exception_handler


def _scalar(annotation: Any) -> type:
    """int, bool or str: the query parameter's type, through Optional and Annotated."""
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    while get_args(annotation) and get_origin(annotation) is not None:
        annotation = get_args(annotation)[0]
    return annotation if annotation in (int, bool) else str


def query_parameters(model: type[BaseModel]) -> list[OpenApiParameter]:
    """The OpenAPI query parameters of a params model (one definition for parsing and docs)."""
    return [
        OpenApiParameter(
            name,
            _scalar(field.annotation),
            description=field.description or "",
            default=field.default if field.default is not None else None,
        )
        for name, field in model.model_fields.items()
    ]


def respond(model: BaseModel, warning: str | None = None, status: int = 200) -> HttpResponse:
    response = json_response(model, status=status)
    if warning:
        response["Warning"] = warning
    return response


def listed(request: Request, name: str) -> list[str]:
    """A list query parameter, repeated (`?a=1&a=2`) or comma-separated (`?a=1,2`)."""
    return [part for value in request.query_params.getlist(name) for part in value.split(",") if part]
