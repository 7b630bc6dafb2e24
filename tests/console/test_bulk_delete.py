"""Bulk delete: the filter's count first (a dry run), then a confirm step that deletes exactly those."""

from __future__ import annotations

import pytest
from django.test import Client

from console.audit import AuditLog
from memoryserver.redis import get_redis
from tests.console.conftest import html, store_memories


@pytest.fixture
def notes(console):
    store_memories(
        *({"id": f"a{i}", "text": f"alice note number {i}", "user_id": "alice"} for i in range(120)),
        {"id": "b1", "text": "bob note", "user_id": "bob"},
        {"id": "w1", "text": "alice at work", "user_id": "alice", "namespace": "work"},
    )


def total(console: Client, **params: str) -> int:
    return console.get("/console/memories/", params).context["result"].total


def test_the_count_comes_first_and_nothing_is_deleted(console: Client, notes):
    response = console.get(
        "/console/memories/bulk-delete/", {"user_id": "alice", "text": "ignored", "offset": "20"}
    )
    assert response.status_code == 200
    page = html(response)
    assert "<strong>121</strong> memories match." in page
    assert '<input type="hidden" name="expected" value="121">' in page
    assert '<input type="hidden" name="user_id" value="alice">' in page
    assert 'name="text"' not in page and 'name="offset"' not in page
    assert total(console, user_id="alice") == 121


def test_the_search_page_links_to_the_bulk_delete_of_its_filters(console: Client, notes):
    page = html(console.get("/console/memories/", {"namespace": "work"}))
    assert "/console/memories/bulk-delete/?namespace=work" in page
    assert "bulk-delete" not in html(console.get("/console/memories/"))  # no filter, no bulk delete


def test_confirming_deletes_every_match_across_namespaces_and_audits(console: Client, notes):
    response = console.post("/console/memories/bulk-delete/", {"user_id": "alice", "expected": "121"})
    assert response.status_code == 302
    assert response["Location"] == "/console/memories/?user_id=alice"
    followed = html(console.get(response["Location"]))
    assert "Deleted 121 of the 121 memories the filters matched." in followed
    assert total(console, user_id="alice") == 0
    assert total(console) == 1  # bob's note stays
    (entry,) = AuditLog(get_redis()).page()
    assert entry.action == "memory.bulk_delete"
    assert entry.details == {"filters": {"user_id": {"eq": "alice"}}, "matched": 121, "deleted": 121}


def test_a_changed_count_asks_again_and_deletes_nothing(console: Client, notes):
    response = console.post("/console/memories/bulk-delete/", {"namespace": "work", "expected": "5"})
    assert response.status_code == 409
    assert "now match 1 memories, not 5" in html(response)
    assert '<input type="hidden" name="expected" value="1">' in html(response)
    assert total(console, namespace="work") == 1
    assert AuditLog(get_redis()).total() == 0


def test_a_missing_count_deletes_nothing(console: Client, notes):
    assert console.post("/console/memories/bulk-delete/", {"namespace": "work"}).status_code == 409
    assert total(console, namespace="work") == 1


def test_without_a_filter_nothing_can_be_bulk_deleted(console: Client, notes):
    for response in (
        console.get("/console/memories/bulk-delete/"),
        console.post("/console/memories/bulk-delete/", {"expected": "122", "text": "note"}),
    ):
        assert response.status_code == 400
        assert "Name at least one filter" in html(response)
    assert total(console) == 122


def test_invalid_filters_show_errors(console: Client, notes):
    response = console.get("/console/memories/bulk-delete/", {"created_at_from": "last week"})
    assert response.status_code == 400
    assert "created_at_from" in html(response) and "ISO-8601" in html(response)


def test_a_time_and_tag_filter_combination(console: Client):
    store_memories(
        {"id": "old", "text": "old news", "topics": ["news"], "created_at": 1000},
        {"id": "new", "text": "new news", "topics": ["news"], "created_at": 5000},
    )
    dry_run = console.get("/console/memories/bulk-delete/", {"topics": "news", "created_at_to": "2000"})
    assert dry_run.context["matched"] == 1
    console.post(
        "/console/memories/bulk-delete/", {"topics": "news", "created_at_to": "2000", "expected": "1"}
    )
    assert console.get("/console/memories/default/old/").status_code == 404
    assert console.get("/console/memories/default/new/").status_code == 200
