"""POST /long-term-memory with an id that exists: an upsert."""

from __future__ import annotations


def test_an_upsert_keeps_created_at_and_replaces_the_rest(api):
    first = {"id": "m", "text": "Alice likes tea", "created_at": 1_700_000_000, "session_id": "s1"}
    assert api.post("/long-term-memory", json={"memories": [first]}).status_code == 200
    before = api.get("/long-term-memory/m").json()
    again = {"id": "m", "text": "Alice likes green tea", "created_at": 1_800_000_000}
    assert api.post("/long-term-memory", json={"memories": [again]}).status_code == 200
    after = api.get("/long-term-memory/m").json()
    assert after["created_at"] == 1_700_000_000  # kept
    assert after["updated_at"] >= before["updated_at"] and after["text"] == "Alice likes green tea"
    assert after["session_id"] is None  # a field the new version leaves out is cleared (documented)
