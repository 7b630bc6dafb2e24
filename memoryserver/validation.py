"""Validation into the service contracts: a pydantic failure becomes the error tree's
InvalidInput, naming each field path (such as `memories.0.text`) and its rule. REST bodies
and query strings, /v1 translations and MCP tool arguments all validate through here."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, BeforeValidator, TypeAdapter, ValidationError

from memoryserver.errors import FieldProblem, InvalidInput

Model = TypeVar("Model", bound=BaseModel)


def invalid_input(error: ValidationError, prefix: str = "") -> InvalidInput:
    """The failure as InvalidInput with one problem per field, paths under `prefix`."""
    problems = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        problems.append(FieldProblem(path, item["msg"].removeprefix("Value error, ")))
    return InvalidInput.from_problems(problems)


def parse(model: type[Model], data: Any, prefix: str = "") -> Model:
    """`data` validated into `model`, failing with InvalidInput."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid_input(error, prefix) from None


def refuse_repeated_ids(ids: Iterable[Hashable], path: str) -> None:
    """InvalidInput at `path.N.id` for the first item whose id an earlier item of the same
    request has: one request holds a message or memory once, not the last of several."""
    first: dict[Hashable, int] = {}
    for index, key in enumerate(ids):
        earlier = first.setdefault(key, index)
        if earlier != index:
            raise InvalidInput(f"{path}.{index}.id", f"repeats the id of {path}.{earlier}")


def object_or_flag(model: type[Model], field: str) -> BeforeValidator:
    """For a field that takes a `model` object or a boolean: an object is validated as `model`
    alone, so its errors name `field.limit`, not each member of the union (a
    `field.SearchRequest.limit` beside a `field.bool` that was never meant)."""

    def validated(value: Any) -> Any:
        if isinstance(value, dict):
            return parse(model, value, prefix=field)
        if value is None or isinstance(value, model):
            return value
        try:
            return _FLAG.validate_python(value)  # true, false and what pydantic reads as them
        except ValidationError:
            raise InvalidInput(field, "must be an object or a boolean") from None

    return BeforeValidator(validated)


_FLAG = TypeAdapter(bool)
