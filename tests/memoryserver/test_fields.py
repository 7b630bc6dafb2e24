from __future__ import annotations

import math

import pytest

from memoryserver.fields import check_identifier, check_json_depth, parse_timestamp


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1700000000, 1700000000.0),
        (1700000000.25, 1700000000.25),
        ("1700000000", 1700000000.0),
        ("2024-01-01T00:00:00Z", 1704067200.0),
        ("2024-01-01T02:00:00+02:00", 1704067200.0),
        ("2024-01-01T00:00:00", 1704067200.0),  # naive means UTC
        ("2024-01-01", 1704067200.0),
    ],
)
def test_timestamps_accept_epoch_seconds_and_iso(value, expected):
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize("value", [True, -1e11, math.nan, math.inf, 1e20, "tomorrow", "", None, [1]])
def test_bad_timestamps_are_refused(value):
    with pytest.raises(ValueError):
        parse_timestamp(value)


@pytest.mark.parametrize("value", ["abc", "session-123", "user@example.com", "org:team.1", "A_B", "x" * 200])
def test_good_identifiers(value):
    assert check_identifier(value) == value


@pytest.mark.parametrize("value", ["", "a b", "a/b", "é", "x" * 201, "a\nb", "{tag}", "a*"])
def test_bad_identifiers(value):
    with pytest.raises(ValueError, match="must be 1-200 characters"):
        check_identifier(value)


def test_json_depth_limit():
    nested: dict = {}
    node = nested
    for _ in range(40):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(ValueError, match="nests deeper than 32 levels"):
        check_json_depth(nested)
    assert check_json_depth({"a": [{"b": 1}]}) == {"a": [{"b": 1}]}
