"""Shared field types (memoryserver.fields) beyond test_fields.py: tags, the time range and
its edges, ids and the clock."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from memoryserver.fields import (
    MAX_TIMESTAMP,
    MIN_TIMESTAMP,
    Tag,
    check_json_depth,
    check_tag,
    new_id,
    now,
    parse_timestamp,
)

CROCKFORD_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


def refusal(kind: Any, value: object) -> str:
    """The message a pydantic field of this type gives for `value`."""
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(kind).validate_python(value)
    return caught.value.errors()[0]["msg"]


@pytest.mark.parametrize("value", ["tea", "Zürich", "日本", "😀", "a b", "{x}|*", "\u00a0"])
def test_a_tag_may_hold_any_printable_text(value):
    assert check_tag(value) == value


@pytest.mark.parametrize("value", ["a\x00b", "tab\there", "new\nline", "del\x7f", "\x1f"])
def test_a_tag_with_a_control_character_is_refused(value):
    with pytest.raises(ValueError, match="must not contain control characters"):
        check_tag(value)


@pytest.mark.parametrize(
    ("value", "words"), [("", "at least 1 character"), ("x" * 201, "at most 200 characters")]
)
def test_a_tag_is_one_to_two_hundred_characters(value, words):
    assert words in refusal(Tag, value)


def test_the_last_second_of_year_9999_is_the_latest_timestamp():
    assert parse_timestamp(MAX_TIMESTAMP) == MAX_TIMESTAMP
    with pytest.raises(ValueError, match="year 1 to 9999"):
        parse_timestamp(MAX_TIMESTAMP + 1)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1965-03-01T00:00:00Z", -152_668_800.0),
        ("1969-12-31T23:59:59Z", -1.0),
        (-1, -1.0),
        ("-1", -1.0),
        ("0001-01-01T00:00:00Z", MIN_TIMESTAMP),
    ],
)
def test_times_before_1970_are_negative_epoch_seconds(value, seconds):
    assert parse_timestamp(value) == seconds


@pytest.mark.parametrize("value", [MIN_TIMESTAMP - 1, "0001-01-01T00:00:00+00:01", "nan", float("inf")])
def test_times_before_year_1_or_not_finite_are_refused(value):
    with pytest.raises(ValueError, match="year 1 to 9999"):
        parse_timestamp(value)


def test_a_datetime_with_an_offset_becomes_utc_epoch_seconds():
    moment = datetime(2024, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    assert parse_timestamp(moment) == 1_704_067_200.0


def test_infinity_inside_free_json_is_refused():
    with pytest.raises(ValueError, match="NaN or Infinity"):
        check_json_depth({"a": [1.0, float("inf")]})


def test_json_exactly_thirty_two_levels_deep_is_accepted():
    nested: list = []
    for _ in range(32):
        nested = [nested]
    assert check_json_depth(nested) is nested
    with pytest.raises(ValueError, match="deeper than 32"):
        check_json_depth([nested])


def test_new_ids_are_crockford_ulids_and_unique():
    ids = {new_id() for _ in range(2_000)}
    assert len(ids) == 2_000 and all(CROCKFORD_ULID.fullmatch(i) for i in ids)


def test_ids_of_later_milliseconds_sort_later():
    first = new_id()
    time.sleep(0.002)
    assert new_id()[:10] > first[:10]  # the first ten characters are the time


def test_the_clock_has_millisecond_precision():
    moment = now()
    assert round(moment, 3) == moment and abs(moment - time.time()) < 1
