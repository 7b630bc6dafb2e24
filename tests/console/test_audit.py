"""The audit log page: console writes, newest first, paged; and the log's own rules."""

from __future__ import annotations

from django.test import Client

from console.audit import AuditLog
from console.repository import STREAM
from memoryserver.redis import get_redis
from tests.console.conftest import html, store_memories


def test_each_write_is_listed_newest_first_with_who_what_and_target(console: Client):
    store_memories({"id": "m1", "text": "first"}, {"id": "m2", "text": "second"})
    console.post("/console/memories/default/m1/delete/")
    console.post("/console/memories/default/m2/edit/", {"text": "second, edited", "memory_type": "semantic"})
    response = console.get("/console/audit/")
    assert response.status_code == 200
    entries = response.context["entries"]
    assert [entry.action for entry in entries] == ["memory.edit", "memory.delete"]
    assert all(entry.actor == "ops" for entry in entries)
    page = html(response)
    assert "memory &#x27;m2&#x27; in namespace &#x27;default&#x27;" in page
    assert "second, edited" in page


def test_paging_goes_back_in_time(console: Client):
    log = AuditLog(get_redis())
    for number in range(120):
        log.record("ops", "test.write", f"target {number}")
    first = console.get("/console/audit/")
    targets = [entry.target for entry in first.context["entries"]]
    assert targets[0] == "target 119" and len(targets) == 50
    assert "(120 kept" in html(first)
    cursor = first.context["next_before"]
    second = console.get("/console/audit/", {"before": cursor})
    assert second.context["entries"][0].target == "target 69"
    third = console.get("/console/audit/", {"before": second.context["next_before"]})
    assert [entry.target for entry in third.context["entries"]][-1] == "target 0"
    assert third.context["next_before"] is None


def test_a_bad_cursor_is_a_400_not_a_500(console: Client):
    response = console.get("/console/audit/", {"before": "drop table"})
    assert response.status_code == 400
    assert "is not an audit entry id" in html(response)


def test_audit_details_are_escaped(console: Client):
    AuditLog(get_redis()).record("<b>x</b>", "a", "<script>alert(1)</script>", {"k": "<script>"})
    page = html(console.get("/console/audit/"))
    assert "<script>alert(1)" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_stream_is_capped(redis_client):
    log = AuditLog(get_redis())
    redis_client.delete(STREAM)
    pipe = get_redis().pipeline(transaction=False)
    for number in range(10_300):
        pipe.xadd(STREAM, {"actor": "ops", "action": "x", "target": str(number), "details": "{}"})
    pipe.execute()
    log.record("ops", "last", "target")
    assert 10_000 <= log.total() < 10_300
    assert log.page(count=1)[0].action == "last"
