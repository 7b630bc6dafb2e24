"""Validation into the service contracts: pydantic failures as InvalidInput naming each field path."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from memoryserver.errors import InvalidInput
from memoryserver.validation import invalid_input, parse


class Item(BaseModel):
    name: str = Field(min_length=1)
    count: int = Field(0, ge=0)

    @field_validator("name")
    @classmethod
    def _no_spaces(cls, name: str) -> str:
        if " " in name:
            raise ValueError(f"'{name}' must not contain spaces")
        return name


class Basket(BaseModel):
    items: list[Item]
    low: int = 0
    high: int = 0

    @model_validator(mode="after")
    def _ordered(self) -> Basket:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


def problems(error: InvalidInput) -> list[tuple[str, str]]:
    return [(problem.field, problem.message) for problem in error.problems]


def test_valid_data_comes_back_as_the_model():
    basket = parse(Basket, {"items": [{"name": "tea", "count": "2"}], "low": 1, "high": 3})
    assert basket == Basket(items=[Item(name="tea", count=2)], low=1, high=3)


def test_a_problem_deep_in_a_list_is_named_by_its_dotted_path():
    with pytest.raises(InvalidInput) as error:
        parse(Basket, {"items": [{"name": "tea"}, {"name": "milk", "count": -1}]})
    assert problems(error.value) == [("items.1.count", "Input should be greater than or equal to 0")]


def test_every_problem_is_reported_in_order_and_the_summary_counts_the_rest():
    with pytest.raises(InvalidInput) as error:
        parse(Basket, {"items": [{"name": ""}, {"count": 1}], "low": "many"})
    assert [field for field, _ in problems(error.value)] == ["items.0.name", "items.1.name", "low"]
    assert str(error.value).endswith("(and 2 more)")
    assert str(error.value).startswith("items.0.name: ")


def test_a_custom_rules_message_loses_pydantics_value_error_prefix():
    with pytest.raises(InvalidInput) as error:
        parse(Basket, {"items": [{"name": "green tea"}]})
    assert problems(error.value) == [("items.0.name", "'green tea' must not contain spaces")]


def test_a_prefix_places_every_path_under_it():
    with pytest.raises(InvalidInput) as error:
        parse(Basket, {"items": [{"name": "a b"}], "high": "x"}, prefix="session.basket")
    assert [field for field, _ in problems(error.value)] == [
        "session.basket.items.0.name",
        "session.basket.high",
    ]


def test_a_rule_of_the_whole_model_is_named_by_the_prefix():
    with pytest.raises(InvalidInput) as error:
        parse(Basket, {"items": [], "low": 5, "high": 1}, prefix="basket")
    assert problems(error.value) == [("basket", "low must not exceed high")]


def test_a_rule_of_the_whole_model_without_a_prefix_names_no_field():
    with pytest.raises(InvalidInput) as error:
        parse(Basket, {"items": [], "low": 5, "high": 1})
    assert problems(error.value) == [("", "low must not exceed high")]
    assert str(error.value) == "low must not exceed high"


def test_data_that_is_not_an_object_is_refused_at_the_prefix():
    with pytest.raises(InvalidInput) as error:
        parse(Basket, ["not", "an", "object"], prefix="body")
    assert [field for field, _ in problems(error.value)] == ["body"]


def test_invalid_input_translates_a_failure_caught_elsewhere():
    with pytest.raises(ValidationError) as caught:
        Item.model_validate({"name": "x y", "count": -2})
    translated = invalid_input(caught.value, "memories.3")
    assert problems(translated) == [
        ("memories.3.name", "'x y' must not contain spaces"),
        ("memories.3.count", "Input should be greater than or equal to 0"),
    ]
    assert translated.status_code == 422
