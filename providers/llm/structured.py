"""Structured output: the tool that asks for it, and turning a reply into a validated object.

Providers force a tool call whose parameters are the schema's JSON schema. Local models
behind OpenAI-compatible servers often answer in text instead, so a reply is also accepted
as JSON text, inside a ```json fence or after a <think> block.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Schema = TypeVar("Schema", bound=BaseModel)

_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)
_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_TOOL_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_MAX_QUOTED = 4000  # characters of a bad output sent back with the correction
_MAX_PROBLEMS = 5


class StructuredOutputError(ValueError):
    """The reply is not JSON, or not valid for the schema; the message says what is wrong."""


@dataclass(frozen=True)
class ToolSpec:
    """The forced tool that carries structured output."""

    name: str
    description: str
    parameters: dict[str, Any]


def tool_spec(schema: type[BaseModel]) -> ToolSpec:
    """The tool for `schema`: named after the model class, parameters from its JSON schema."""
    name = _TOOL_NAME_CHARS.sub("_", schema.__name__)[:64] or "answer"
    doc = (schema.__doc__ or "").strip()
    description = f"Return the answer as {schema.__name__}." + (f" {doc}" if doc else "")
    return ToolSpec(name=name, description=description, parameters=schema.model_json_schema())


def extract_json(text: str) -> str:
    """The JSON part of a reply: fences, thinking blocks and surrounding prose removed."""
    stripped = _THINKING.sub("", text).strip()
    fenced = _FENCE.search(stripped)
    if fenced:
        return fenced.group(1).strip()
    if stripped[:1] not in ("{", "["):
        start, end = stripped.find("{"), stripped.rfind("}")
        if 0 <= start < end:
            return stripped[start : end + 1]
    return stripped


def parse_structured(text: str, schema: type[Schema]) -> tuple[Schema, str]:
    """The reply validated as `schema`, and the JSON text it came from."""
    candidate = extract_json(text)
    if not candidate:
        raise StructuredOutputError("the reply is empty")
    try:
        value = json.loads(candidate)
    except json.JSONDecodeError as error:
        raise StructuredOutputError(
            f"the reply is not JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    try:
        return schema.model_validate(value), candidate
    except ValidationError as error:
        raise StructuredOutputError(
            f"the reply does not match {schema.__name__}: {describe_validation(error)}"
        ) from None


def describe_validation(error: ValidationError) -> str:
    """'field: message' for the first few problems, without echoing the values."""
    problems = []
    for item in error.errors()[:_MAX_PROBLEMS]:
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        problems.append(f"{where}: {item['msg']}")
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def corrective_prompt(
    bad_output: str, problem: StructuredOutputError, schema: type[BaseModel]
) -> tuple[str, str]:
    """The assistant's bad output (shortened) and the user's correction, for the one retry."""
    quoted = bad_output.strip()[:_MAX_QUOTED] or "(no output)"
    correction = (
        f"That answer could not be used: {problem}. Answer again with only a JSON object that "
        f"matches this JSON schema, with no other text:\n{json.dumps(schema.model_json_schema())}"
    )
    return quoted, correction
