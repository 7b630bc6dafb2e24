"""rest.parameters: the OpenAPI query parameters state the rules the pydantic model enforces."""

from __future__ import annotations

import re
from typing import Any, Literal

import pytest
from drf_spectacular.utils import OpenApiParameter
from pydantic import BaseModel, Field

from memoryserver.errors import InvalidInput
from memoryserver.validation import parse
from rest.parameters import query_parameters
from rest.v1.params import NamespaceParams


class SearchParams(BaseModel):
    text: str = Field(description="What to look for.")
    limit: int = Field(10, ge=1, le=100, description="How many results.")
    tag: str | None = Field(None, pattern=r"^[a-z]+$", max_length=20)
    order: Literal["newest", "oldest"] = "newest"


def by_name(model: type[BaseModel]) -> dict[str, OpenApiParameter]:
    return {parameter.name: parameter for parameter in query_parameters(model)}


def schema(model: type[BaseModel], name: str) -> dict[str, Any]:
    """The JSON schema documented for one parameter."""
    documented = by_name(model)[name].type
    assert isinstance(documented, dict)
    return documented


PARAMETERS = by_name(SearchParams)


def test_every_field_is_a_query_parameter_and_only_those_without_a_default_are_required():
    assert list(PARAMETERS) == list(SearchParams.model_fields)
    assert {p.location for p in PARAMETERS.values()} == {OpenApiParameter.QUERY}
    assert {name for name, p in PARAMETERS.items() if p.required} == {"text"}


def test_bounds_defaults_and_descriptions_come_from_the_field_and_the_title_does_not():
    assert PARAMETERS["limit"].type == {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}
    assert (PARAMETERS["limit"].description, PARAMETERS["tag"].description) == ("How many results.", "")
    assert PARAMETERS["order"].type == {"type": "string", "enum": ["newest", "oldest"], "default": "newest"}


def test_an_optional_field_is_documented_as_its_type_without_the_null_arm():
    tag = schema(SearchParams, "tag")
    assert "anyOf" not in tag and (tag["type"], tag["pattern"], tag["maxLength"]) == (
        "string",
        "^[a-z]+$",
        20,
    )


def test_the_documented_pattern_allows_what_the_model_accepts_and_nothing_else():
    pattern = schema(NamespaceParams, "namespace")["pattern"]
    for value in ("team-a", "a@b.c:d_e"):
        assert re.search(pattern, value) and parse(NamespaceParams, {"namespace": value}).namespace == value
    for value in ("team a", "x" * 201, "", "a/b"):
        assert re.search(pattern, value) is None
        with pytest.raises(InvalidInput, match=r"^namespace: must be 1-200 characters"):
            parse(NamespaceParams, {"namespace": value})
