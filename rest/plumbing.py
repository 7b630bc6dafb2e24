"""The base of every REST view: async DRF, pydantic contracts, orjson responses."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from adrf.views import APIView as AsyncAPIView
from django.http import HttpResponse
from pydantic import BaseModel, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from memoryserver.auth.authenticate import authenticate
from memoryserver.auth.principal import READ, WRITE, Principal, Scope
from memoryserver.errors import InvalidInput, MalformedBody
from memoryserver.validation import invalid_input, parse
from rest import errors
from rest.errors import Translated, drf_response

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class ApiCall:
    """What an operation reads from its request, whichever route carried it (see rest.hot)."""

    principal: Principal
    query: Mapping[str, str]  # the last value of each parameter, as QueryDict.dict() gives it
    body: bytes = b""
    if_match: str | None = None


def call_of(request: Request) -> ApiCall:
    """The call a DRF view hands to its operation."""
    return ApiCall(
        principal_of(request), request.query_params.dict(), request.body, request.headers.get("If-Match")
    )


def parse_body(request: Request, model: type[Model]) -> Model:
    return parse_json(request.body, model)


def parse_json(raw: bytes, model: type[Model]) -> Model:
    """Validate a raw JSON body in one pass (pydantic parses and checks together)."""
    if not raw.strip():
        raise MalformedBody("body", "the request body is empty; expected a JSON object")
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        if any(item["type"] == "json_invalid" for item in error.errors()):
            raise MalformedBody("body", "the request body is not valid JSON") from None
        if any(item["type"] == "model_type" and not item["loc"] for item in error.errors()):
            raise InvalidInput("body", "expected a JSON object") from None
        raise invalid_input(error) from None


def parse_query(request: Request, model: type[Model]) -> Model:
    return parse(model, request.query_params.dict())


def parse_params(call: ApiCall, model: type[Model]) -> Model:
    return parse(model, call.query)


def json_response(model: BaseModel, status: int = 200) -> HttpResponse:
    return HttpResponse(model.model_dump_json(), status=status, content_type="application/json")


def principal_of(request: Request) -> Principal:
    principal = request.user
    assert isinstance(principal, Principal), "ApiView authenticates every non-public request"
    return principal


class ApiView(AsyncAPIView):
    """Async API view: authenticates (awaiting JWKS or Redis when needed) and checks scopes.

    adrf hops to a thread for DRF's `initial()`; ours runs it on the event loop, after
    our own async authentication, so nothing here blocks.
    """

    public = False
    # The scope each method needs; views where a POST only reads (search) override it.
    method_scopes: ClassVar[dict[str, Scope]] = {
        "get": READ,
        "post": WRITE,
        "put": WRITE,
        "patch": WRITE,
        "delete": WRITE,
    }

    @staticmethod
    def translate(exc: Exception) -> Translated | None:
        """How failures become error answers: in this view, and in its hot route (rest.hot)."""
        return errors.translate(exc)

    @classmethod
    def scope_for(cls, method: str) -> Scope:
        return cls.method_scopes.get(method.lower(), WRITE)

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        translate = type(self).translate
        return lambda exc, context: drf_response(translate(exc))

    async def async_dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            method = (request.method or "").lower()
            if not self.public:
                principal = await authenticate(request.headers.get("Authorization"))
                principal.require(self.scope_for(method))
                request.user = principal
            self.initial(request, *args, **kwargs)
            handler: Any = getattr(self, method, self.http_method_not_allowed)
            response = handler(request, *args, **kwargs)
            if inspect.isawaitable(response):  # DRF's own handlers (OPTIONS) are synchronous
                response = await response
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response
