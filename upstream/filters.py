"""The upstream MCP tools' filter objects, translated into the REST search's filters.

Upstream clients send filters such as `{"field": "topics", "any": ["travel"]}` and
date-time filters with ISO-8601 strings and an `inclusive` flag for `between`. We accept
those shapes and map what the search supports: eq, ne, any, all, startswith on tag fields;
gt, gte, lt, lte, eq, ne, between on time fields (ISO-8601 or epoch seconds). Any other
operator is refused with a message naming the operator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from memoryserver.errors import InvalidInput
from memoryserver.fields import parse_timestamp

TAG_OPERATORS = ("eq", "ne", "any", "all", "startswith")
TIME_OPERATORS = ("gt", "gte", "lt", "lte", "eq", "ne", "between")
# Keys of upstream filter objects that carry no condition when empty (enum_class is a Python artefact).
_IGNORED_WHEN_NULL = ("enum_class",)
# `between` [low, high] with upstream's `inclusive` flag, as one-sided operators.
_BETWEEN_AS: dict[str, tuple[str, str]] = {
    "neither": ("gt", "lt"),
    "left": ("gte", "lt"),
    "right": ("gt", "lte"),
}

DateTime = Annotated[
    float,
    BeforeValidator(parse_timestamp),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
            "description": "ISO-8601 date-time such as 2025-01-31T09:00:00Z, or epoch seconds",
        }
    ),
]


def _checked_keys(value: Any, operators: tuple[str, ...], settings: tuple[str, ...] = ("field",)) -> Any:
    """Refuse operators we do not support, by name, before field validation."""
    if not isinstance(value, dict):
        return value
    value = {key: item for key, item in value.items() if not (key == "startswith" and item is None)}
    for key in _IGNORED_WHEN_NULL:
        value.pop(key, None)
    for key in value:
        if key not in (*operators, *settings):
            raise ValueError(f"unsupported operator '{key}'; use {_listed(operators)}")
    return value


def _listed(operators: tuple[str, ...]) -> str:
    return ", ".join(operators[:-1]) + f" or {operators[-1]}"


def _check_field(name: str, field: str | None) -> None:
    if field is not None and field != name:
        raise InvalidInput(f"{name}.field", f"is '{field}' but this filter is for '{name}'; omit it")


class TagFilterArg(BaseModel):
    """Conditions on a tag field, combined with AND; a bare string means {"eq": string}."""

    model_config = ConfigDict(extra="ignore", title="TagFilter")

    field: str | None = Field(None, description="Optional: the name of the filtered field.")
    eq: str | None = Field(None, description="Equal to this value.")
    ne: str | None = Field(None, description="Not equal to this value.")
    any: list[str] | None = Field(None, description="Has any of these values.")
    all: list[str] | None = Field(None, description="Has all of these values.")
    startswith: str | None = Field(None, description="Has a value starting with this prefix (2+ characters).")

    @model_validator(mode="before")
    @classmethod
    def _upstream_shape(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"eq": value}
        return _checked_keys(value, TAG_OPERATORS)

    def operators(self, name: str) -> dict[str, Any]:
        _check_field(name, self.field)
        return {op: value for op in TAG_OPERATORS if (value := getattr(self, op)) is not None}


class TagFilterV1(BaseModel):
    """Conditions on a tag field in either vocabulary: eq, ne, any, all, startswith (the API's)
    and in_, not_eq, not_in, none (the published client's); combined with AND."""

    model_config = ConfigDict(extra="forbid", title="TagFilterV1")

    field: str | None = None
    eq: str | None = None
    ne: str | None = None
    any: list[str] | None = None
    all: list[str] | None = None
    startswith: str | None = None
    in_: list[str] | None = Field(None, validation_alias=AliasChoices("in_", "in"))
    not_eq: str | None = None
    not_in: list[str] | None = None
    none: list[str] | None = None
    enum_class: Any = Field(None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _bare_string_means_eq(cls, value: Any) -> Any:
        return {"eq": value} if isinstance(value, str) else value

    def operators(self, name: str) -> dict[str, Any]:
        """The conditions in the search's own operators (eq, ne, any, all, none, startswith)."""
        _check_field(name, self.field)
        ne = [value for value in (self.ne, self.not_eq) if value is not None]
        operators: dict[str, Any] = {
            "eq": self.eq,
            "ne": ne[0] if len(ne) == 1 else None,
            "any": _joined(self.any, self.in_),
            "all": self.all,
            "none": _joined(self.none, self.not_in, ne if len(ne) > 1 else None),
            "startswith": self.startswith,
        }
        return {op: value for op, value in operators.items() if value is not None}


def _joined(*lists: list[str] | None) -> list[str] | None:
    values = [value for values in lists if values for value in values]
    return list(dict.fromkeys(values)) or None


class TimeFilterArg(BaseModel):
    """Conditions on a date-time field, combined with AND."""

    model_config = ConfigDict(extra="ignore", title="DateTimeFilter")

    field: str | None = Field(None, description="Optional: the name of the filtered field.")
    gt: DateTime | None = Field(None, description="After this time.")
    gte: DateTime | None = Field(None, description="At or after this time.")
    lt: DateTime | None = Field(None, description="Before this time.")
    lte: DateTime | None = Field(None, description="At or before this time.")
    eq: DateTime | None = Field(None, description="Exactly this time.")
    ne: DateTime | None = Field(None, description="Not exactly this time.")
    between: list[DateTime] | None = Field(
        None, min_length=2, max_length=2, description="[start, end], bounds included unless `inclusive` says."
    )
    inclusive: Literal["both", "neither", "left", "right"] = Field(
        "both", description="Which bounds of `between` are included."
    )

    @model_validator(mode="before")
    @classmethod
    def _upstream_shape(cls, value: Any) -> Any:
        return _checked_keys(value, TIME_OPERATORS, ("field", "inclusive"))

    def operators(self, name: str) -> dict[str, Any]:
        _check_field(name, self.field)
        found = {op: value for op in TIME_OPERATORS if (value := getattr(self, op)) is not None}
        if self.between is not None and self.between[0] > self.between[1]:
            # Refused whatever `inclusive` says: a reversed range would silently match nothing.
            raise InvalidInput(name, "between needs [low, high] with low <= high")
        if self.between is not None and self.inclusive != "both":
            low, high = found.pop("between")
            for op, bound in zip(_BETWEEN_AS[self.inclusive], (low, high), strict=True):
                if op in found:
                    problem = f"'{self.inclusive}' turns between into '{op}', which is also given"
                    raise InvalidInput(f"{name}.inclusive", problem)
                found[op] = bound
        return found


FilterArg = TagFilterArg | TagFilterV1 | TimeFilterArg


def filter_payload(filters: Mapping[str, FilterArg | None]) -> dict[str, dict[str, Any]]:
    """The search filters in the REST contract's shape; a filter with no condition is dropped."""
    payload = {}
    for name, condition in filters.items():
        if condition is not None and (operators := condition.operators(name)):
            payload[name] = operators
    return payload
