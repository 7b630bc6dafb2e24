"""Responses checked against the upstream OpenAPI document (upstream/upstream-openapi.json)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

import httpx
from jsonschema import Draft202012Validator, FormatChecker

from upstream.contract import UPSTREAM_OPENAPI

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone")
    return True


@cache
def document() -> dict[str, Any]:
    return json.loads(UPSTREAM_OPENAPI.read_text())


def response_schema(method: str, path: str, status: int = 200) -> dict[str, Any]:
    operation = document()["paths"][path][method.lower()]
    return operation["responses"][str(status)]["content"]["application/json"]["schema"]


def component(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def validate(instance: Any, schema: dict[str, Any]) -> None:
    root = {**schema, "components": document()["components"]}
    validator = Draft202012Validator(root, format_checker=FORMATS)
    errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def checked(response: httpx.Response, method: str, path: str, status: int = 200) -> Any:
    """The response's JSON after checking its status and its shape against the contract."""
    assert response.status_code == status, response.text
    body = response.json()
    validate(body, response_schema(method, path, status))
    return body


def properties(name: str) -> set[str]:
    return set(document()["components"]["schemas"][name]["properties"])


def assert_complete(body: dict[str, Any], name: str) -> None:
    """Every field the contract's schema `name` defines is present (not only its required ones)."""
    missing = properties(name) - set(body)
    assert not missing, f"{name} lacks {sorted(missing)}"
