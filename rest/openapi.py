"""OpenAPI post-processing: every operation documents the error answers it can give."""

from __future__ import annotations

from typing import Any

from memoryserver.fields import IDENTIFIER_SCHEMA
from memoryserver.job_status import TASK_ID

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "detail": {
            "description": "What went wrong; on /v1 a 422 lists {loc, msg, type} as upstream does.",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}],
        },
        "status_code": {"type": "integer"},
        "errors": {
            "type": "array",
            "description": "One entry per invalid field (422), with its path such as `messages.3.role`.",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
    },
    "required": ["detail", "status_code"],
}

ERRORS = {
    "400": "The body is not valid JSON.",
    "401": "Missing or invalid credentials.",
    "403": "The caller's scopes or tenants do not allow this.",
    "404": "No such session, memory or task.",
    "409": "The change conflicts with stored data.",
    "413": "The body is larger than MAX_REQUEST_BODY_BYTES.",
    "422": "Invalid input; `errors` names each field and its problem.",
    "501": "The feature needs a model or package that is not configured.",
    "503": "Redis or a model API is unavailable; retry later.",
}
# Path parameters follow the rules the views check.
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "task_id": {"type": "string", "pattern": f"^{TASK_ID.pattern}$"},
    "session_id": IDENTIFIER_SCHEMA,
    "memory_id": IDENTIFIER_SCHEMA,
}
# Liveness answers without authentication and without touching Redis.
NO_ERRORS = {"/health"}
BEARER = "bearerAuth"
SECURITY_SCHEME: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token (`manage.py token add`) or an OAuth2 access token (JWT).",
}


def _public_operations(generator: Any) -> set[tuple[str, str]]:
    """(path, method) of the operations that need no token, from the views' own `public` flag."""
    public = set()
    for path, _regex, method, callback in generator.endpoints or []:
        view = getattr(callback, "cls", None)
        if view is not None and getattr(view(**getattr(callback, "initkwargs", {})), "public", True):
            public.add((path, method.lower()))
    return public


def add_bearer_security(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation but the public ones needs a bearer
    token (so /docs can authorize and generated clients send the header)."""
    result.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER] = SECURITY_SCHEME
    open_operations = _public_operations(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            operation["security"] = [] if (path, method) in open_operations else [{BEARER: []}]
    return result


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        if path in NO_ERRORS:
            continue
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["name"] in PATH_PARAMETERS:
                    parameter["schema"] = PATH_PARAMETERS[parameter["name"]]
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                responses.setdefault(code, {"description": description, "content": reference})
    return result
