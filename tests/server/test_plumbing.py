"""rest.plumbing: bodies and query strings become pydantic contracts, or the error that says
what is wrong and where (a malformed body is a 400, a wrong one a 422)."""

from __future__ import annotations

import orjson
import pytest
from pydantic import BaseModel, Field
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from memoryserver.errors import InvalidInput, MalformedBody
from rest.plumbing import parse_body, parse_query

factory = APIRequestFactory()


class Item(BaseModel):
    name: str = Field(min_length=1)


class Batch(BaseModel):
    items: list[Item]
    limit: int = 10


def posted(raw: bytes) -> Request:
    return Request(factory.post("/batch", raw, content_type="application/json"))


def refusal(raw: bytes) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        parse_body(posted(raw), Batch)
    return refused.value


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "the request body is empty; expected a JSON object"),
        (b"  \n\t", "the request body is empty; expected a JSON object"),
        (b"{", "the request body is not valid JSON"),
        (b'{"items": []} trailing', "the request body is not valid JSON"),
        (b"{'items': []}", "the request body is not valid JSON"),
        (b'{"items": [{"name": "\xff"}]}', "the request body is not valid JSON"),
    ],
)
def test_a_body_that_is_empty_or_not_json_is_malformed(raw, message):
    error = refusal(raw)
    assert type(error) is MalformedBody and error.status_code == 400
    assert [(p.field, p.message) for p in error.problems] == [("body", message)]


@pytest.mark.parametrize("raw", [b"[]", b'[{"items": []}]', b"null", b'"items"', b"42"])
def test_json_that_is_not_an_object_is_invalid_input_not_malformed(raw):
    error = refusal(raw)
    assert type(error) is InvalidInput and error.status_code == 422
    assert [(p.field, p.message) for p in error.problems] == [("body", "expected a JSON object")]


def test_every_wrong_field_is_named_by_its_path_in_the_body():
    error = refusal(orjson.dumps({"items": [{"name": "ok"}, {"name": ""}, {}], "limit": "many"}))
    assert [p.field for p in error.problems] == ["items.1.name", "items.2.name", "limit"]
    assert str(error) == "items.1.name: String should have at least 1 character (and 2 more)"


class Page(BaseModel):
    limit: int = Field(10, ge=1, le=100)


def test_query_values_arrive_as_text_and_a_repeated_one_counts_with_its_last_value():
    assert parse_query(Request(factory.get("/page?limit=0&limit=25&unknown=1")), Page).limit == 25


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=ten"])
def test_a_query_value_out_of_its_rule_is_refused_naming_the_parameter(query):
    with pytest.raises(InvalidInput) as refused:
        parse_query(Request(factory.get(f"/page?{query}")), Page)
    assert [p.field for p in refused.value.problems] == ["limit"]
