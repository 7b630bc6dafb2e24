"""memoryserver.asgi_headers: a header read from an ASGI scope as Django reads it."""

from __future__ import annotations

from memoryserver.asgi_headers import header

SCOPE = {"headers": [(b"host", b"example"), (b"Authorization", b"Bearer a"), (b"authorization", b"Bearer b")]}


def test_a_header_sent_several_times_is_joined_with_commas():
    assert header(SCOPE, b"authorization") == "Bearer a,Bearer b"


def test_a_missing_header_is_none():
    assert header(SCOPE, b"if-match") is None
    assert header({}, b"host") is None


def test_values_are_latin_1():
    assert header({"headers": [(b"x-name", "café".encode("latin-1"))]}, b"x-name") == "café"
