"""The base of every REST view: async DRF, pydantic contracts, orjson responses."""

from __future__ import annotations

from typing import Any, TypeVar

from adrf.views import APIView as AsyncAPIView
from django.http import HttpResponse
from pydantic import BaseModel, ValidationError
from rest_framework.request import Request

from memoryserver.errors import FieldProblem, InvalidInput, MalformedBody

Model = TypeVar("Model", bound=BaseModel)


def _problems(error: ValidationError, prefix: str = "") -> list[FieldProblem]:
    problems = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        problems.append(FieldProblem(path, item["msg"].removeprefix("Value error, ")))
    return problems


def parse_body(request: Request, model: type[Model]) -> Model:
    """Validate the raw JSON body in one pass (pydantic parses and checks together)."""
    raw = request.body
    if not raw.strip():
        raise MalformedBody("body", "the request body is empty; expected a JSON object")
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        if any(item["type"] == "json_invalid" for item in error.errors()):
            raise MalformedBody("body", "the request body is not valid JSON") from None
        if any(item["type"] == "model_type" and not item["loc"] for item in error.errors()):
            raise InvalidInput("body", "expected a JSON object") from None
        raise InvalidInput.from_problems(_problems(error)) from None


def parse_query(request: Request, model: type[Model]) -> Model:
    try:
        return model.model_validate(request.query_params.dict())
    except ValidationError as error:
        raise InvalidInput.from_problems(_problems(error)) from None


def json_response(model: BaseModel, status: int = 200) -> HttpResponse:
    return HttpResponse(model.model_dump_json(), status=status, content_type="application/json")


class ApiView(AsyncAPIView):
    """Async API view that runs DRF's `initial()` (authentication, permissions) in the loop.

    adrf hops to a thread for `initial()`; ours stays on the event loop, so
    authenticators must never block (see memoryserver auth).
    """

    async def async_dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            method = (request.method or "").lower()
            handler: Any = getattr(self, method, self.http_method_not_allowed)
            response = await handler(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response
