"""OpenAPI query parameters generated from the pydantic models that parse them.

The model is the single source of the rules: the documentation states the same bounds,
patterns and defaults that `parse_query` enforces.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from pydantic import BaseModel


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`X | None` is an optional parameter of type X: a query string has no null."""
    variants = [v for v in schema.get("anyOf", []) if v.get("type") != "null"]
    if len(variants) != 1:
        return schema
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**variants[0], **rest}


def query_parameters(model: type[BaseModel]) -> list[OpenApiParameter]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    parameters = []
    for name, definition in schema.get("properties", {}).items():
        prop = _without_null({k: v for k, v in definition.items() if k != "title"})
        description = prop.pop("description", None)
        parameters.append(
            OpenApiParameter(
                name,
                prop,
                OpenApiParameter.QUERY,
                required=name in required,
                description=description or "",
            )
        )
    return parameters
