"""Validation into the service contracts: a pydantic failure becomes the error tree's
InvalidInput, naming each field path (such as `memories.0.text`) and its rule. REST bodies
and query strings, /v1 translations and MCP tool arguments all validate through here."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

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
