"""Console forms: they turn browser input into the API's own request models.

Validation happens twice, on purpose: the form checks what a browser can get wrong
(numbers, dates, choices) with messages next to the field, and the API's pydantic model
then checks everything exactly as the REST API does; its errors land on the same fields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, get_args

from django import forms
from pydantic import ValidationError

from longterm_app.queries import NUMERIC_FIELDS, TAG_FIELDS
from longterm_app.records import MemoryRecord, MemoryType
from longterm_app.schemas import MemoryFilters, MemoryPatch, SearchRequest
from memoryserver.fields import check_identifier, parse_timestamp

MEMORY_TYPES = get_args(MemoryType)
TAG_OPERATORS = [
    ("eq", "is"),
    ("ne", "is not"),
    ("any", "any of"),
    ("all", "all of"),
]
SEARCH_MODES = [("semantic", "semantic"), ("keyword", "keyword"), ("hybrid", "hybrid")]
DEFAULT_PAGE_SIZE = 20
LIST_SEPARATOR = ","


def _field_errors(form: forms.Form, error: ValidationError, field_of: dict[str, str]) -> None:
    """Put pydantic's errors on the form fields they concern (else on the form)."""
    for item in error.errors(include_url=False):
        name = str(item["loc"][0]) if item["loc"] else ""
        message = item["msg"].removeprefix("Value error, ")
        path = ".".join(str(part) for part in item["loc"][1:])
        form.add_error(field_of.get(name), f"{path}: {message}" if path else message)


def format_timestamp(value: float | None) -> str:
    if value is None:
        return ""
    return datetime.fromtimestamp(value, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _timestamp(form: forms.Form, name: str) -> float | None:
    raw = (form.cleaned_data.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse_timestamp(raw)
    except ValueError as error:
        form.add_error(name, f"'{raw}' {error}.")
        return None


class SearchForm(forms.Form):
    """The search box with every filter of POST /long-term-memory/search."""

    text = forms.CharField(required=False, max_length=10_000, label="Search")
    search_mode = forms.ChoiceField(choices=SEARCH_MODES, required=False, initial="semantic")
    distance_threshold = forms.FloatField(required=False, min_value=0, max_value=2)
    hybrid_alpha = forms.FloatField(required=False, min_value=0, max_value=1, label="Hybrid alpha")
    recency_boost = forms.BooleanField(required=False)
    limit = forms.IntegerField(required=False, min_value=1, max_value=100, initial=DEFAULT_PAGE_SIZE)
    offset = forms.IntegerField(required=False, min_value=0, max_value=10_000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in TAG_FIELDS:
            self.fields[f"{name}_op"] = forms.ChoiceField(choices=TAG_OPERATORS, required=False)
            self.fields[name] = forms.CharField(required=False, max_length=20_000)
        for name in NUMERIC_FIELDS:
            self.fields[f"{name}_from"] = forms.CharField(required=False, max_length=40)
            self.fields[f"{name}_to"] = forms.CharField(required=False, max_length=40)
        self.search_request: SearchRequest | None = None

    def tag_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [(name, self[f"{name}_op"], self[name]) for name in TAG_FIELDS]

    def time_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [(name, self[f"{name}_from"], self[f"{name}_to"]) for name in NUMERIC_FIELDS]

    def _tag_filter(self, name: str) -> dict[str, Any] | None:
        raw = (self.cleaned_data.get(name) or "").strip()
        if not raw:
            return None
        operator = self.cleaned_data.get(f"{name}_op") or "eq"
        values = [part.strip() for part in raw.split(LIST_SEPARATOR)] if operator in ("any", "all") else [raw]
        values = [value for value in values if value]
        if name == "memory_type" and (unknown := [v for v in values if v not in MEMORY_TYPES]):
            self.add_error(
                name, f"'{unknown[0]}' is not a memory type; use one of {', '.join(MEMORY_TYPES)}."
            )
            return None
        if not values:
            return None
        return {operator: values if operator in ("any", "all") else values[0]}

    def _time_filter(self, name: str) -> dict[str, Any] | None:
        low, high = _timestamp(self, f"{name}_from"), _timestamp(self, f"{name}_to")
        if low is not None and high is not None and low > high:
            self.add_error(f"{name}_to", "must not be before 'from'.")
            return None
        condition = {"gte": low, "lte": high}
        return {op: value for op, value in condition.items() if value is not None} or None

    def _search_data(self) -> dict[str, Any]:
        data = {
            key: self.cleaned_data.get(key)
            for key in ("text", "distance_threshold", "hybrid_alpha", "offset")
            if self.cleaned_data.get(key) not in (None, "")
        }
        data["search_mode"] = self.cleaned_data.get("search_mode") or "semantic"
        data["recency_boost"] = bool(self.cleaned_data.get("recency_boost"))
        data["limit"] = self.cleaned_data.get("limit") or DEFAULT_PAGE_SIZE
        for name in TAG_FIELDS:
            if (tag := self._tag_filter(name)) is not None:
                data[name] = tag
        for name in NUMERIC_FIELDS:
            if (times := self._time_filter(name)) is not None:
                data[name] = times
        return data

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        data = self._search_data()
        if self.errors:
            return cleaned
        try:
            self.search_request = SearchRequest.model_validate(data)
        except ValidationError as error:
            field_of = {name: name for name in (*TAG_FIELDS, "text", "limit", "offset", "hybrid_alpha")}
            field_of |= {name: f"{name}_from" for name in NUMERIC_FIELDS}
            _field_errors(self, error, field_of)
        return cleaned

    def has_filters(self) -> bool:
        request = self.search_request
        return request is not None and any(
            getattr(request, name) is not None for name in MemoryFilters.model_fields
        )


def _unix_newlines(text: str) -> str:
    """Browsers send a textarea's line breaks as CRLF, whatever the text had."""
    return text.replace("\r\n", "\n")


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


class MemoryEditForm(forms.Form):
    """Every field of PATCH /long-term-memory/{id}; only changed fields are sent."""

    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=100_000, strip=False)
    memory_type = forms.ChoiceField(choices=[(t, t) for t in MEMORY_TYPES])
    topics = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One a line."
    )
    entities = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One a line."
    )
    event_date = forms.CharField(
        required=False, max_length=40, help_text="ISO-8601 date-time or epoch seconds; empty for none."
    )
    session_id = forms.CharField(required=False, max_length=200)
    user_id = forms.CharField(required=False, max_length=200)

    def __init__(self, record: MemoryRecord, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "text": record.text,
                "memory_type": record.memory_type,
                "topics": "\n".join(record.topics),
                "entities": "\n".join(record.entities),
                "event_date": format_timestamp(record.event_date),
                "session_id": record.session_id or "",
                "user_id": record.user_id or "",
            },
        )
        super().__init__(*args, **kwargs)
        self.record = record
        self.patch: MemoryPatch | None = None

    def _changes(self) -> dict[str, Any]:
        record, data = self.record, self.cleaned_data
        proposed: dict[str, Any] = {
            "text": _unix_newlines(data.get("text") or ""),
            "memory_type": data.get("memory_type"),
            "topics": _lines(data.get("topics") or ""),
            "entities": _lines(data.get("entities") or ""),
            "session_id": (data.get("session_id") or "").strip() or None,
            "user_id": (data.get("user_id") or "").strip() or None,
        }
        changes = {name: value for name, value in proposed.items() if value != getattr(record, name)}
        if changes.get("text") == _unix_newlines(record.text):  # only the browser's line endings differ
            del changes["text"]
        event_date = _timestamp(self, "event_date")
        if event_date != record.event_date and not (
            event_date is not None
            and record.event_date is not None
            and abs(event_date - record.event_date) < 1
        ):
            changes["event_date"] = event_date
        return changes

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        changes = self._changes()
        if self.errors:
            return cleaned
        try:
            self.patch = MemoryPatch.model_validate(changes)
        except ValidationError as error:
            _field_errors(self, error, {name: name for name in MemoryPatch.model_fields})
        return cleaned


def _identifier(value: str, field: str, form: forms.Form) -> str | None:
    value = value.strip()
    if not value:
        return None
    try:
        return check_identifier(value)
    except ValueError as error:
        form.add_error(field, f"'{value}' {error}.")
        return None


class SessionFilterForm(forms.Form):
    namespace = forms.CharField(required=False, max_length=200)
    user_id = forms.CharField(required=False, max_length=200)
    limit = forms.IntegerField(required=False, min_value=1, max_value=100, initial=DEFAULT_PAGE_SIZE)
    offset = forms.IntegerField(required=False, min_value=0, max_value=10_000_000, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["namespace"] = _identifier(cleaned.get("namespace") or "", "namespace", self)
        cleaned["user_id"] = _identifier(cleaned.get("user_id") or "", "user_id", self)
        if cleaned["user_id"] and not cleaned["namespace"]:
            self.add_error("namespace", "name the namespace of the user's sessions.")
        cleaned["limit"] = cleaned.get("limit") or DEFAULT_PAGE_SIZE
        cleaned["offset"] = cleaned.get("offset") or 0
        return cleaned


class BulkDeleteForm(forms.Form):
    """The confirm step of a bulk delete: the count the operator saw."""

    expected = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
