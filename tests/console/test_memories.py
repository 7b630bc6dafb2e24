"""Long-term memories in the console: search with filters, detail, edit (re-embedded), delete."""

from __future__ import annotations

import pytest
from django.test import Client

from console.audit import AuditLog
from memoryserver.redis import get_redis
from tests.console.conftest import html, store_memories


@pytest.fixture
def pets(console):
    store_memories(
        {
            "id": "cat",
            "text": "Alice has a grey cat named Smokey",
            "topics": ["pets"],
            "entities": ["Alice", "Smokey"],
            "user_id": "alice",
            "session_id": "s1",
            "created_at": 1000,
            "event_date": "2024-03-01T10:00:00Z",
        },
        {
            "id": "dog",
            "text": "Bob walks his dog Rex every morning",
            "topics": ["pets", "exercise"],
            "user_id": "bob",
            "created_at": 2000,
            "memory_type": "episodic",
        },
        {
            "id": "tax",
            "text": "The quarterly tax report is due in April",
            "topics": ["finance"],
            "user_id": "alice",
            "created_at": 3000,
            "namespace": "work",
        },
    )


def listed(response) -> list[str]:
    """Memory ids linked from a search results page, in order."""
    page = html(response)
    ids = []
    for chunk in page.split('<td class="text"><a href="/console/memories/')[1:]:
        path = chunk.split('"', 1)[0].split("?", 1)[0]  # ?user_id= names a user's memory
        parts = path.strip("/").split("/")
        if len(parts) == 2:
            ids.append(parts[1])
    return ids


def test_an_empty_search_lists_every_memory_newest_first_with_the_total(console: Client, pets):
    response = console.get("/console/memories/")
    assert response.status_code == 200
    assert listed(response) == ["tax", "dog", "cat"]
    assert "3 memories match." in html(response)


@pytest.mark.parametrize("mode", ["semantic", "keyword", "hybrid"])
def test_each_search_mode_finds_the_memory_and_shows_a_distance(console: Client, pets, mode):
    response = console.get("/console/memories/", {"text": "grey cat Smokey", "search_mode": mode})
    assert response.status_code == 200
    assert listed(response)[0] == "cat"
    if mode != "keyword":
        assert "0." in html(response).split("Alice has a grey cat")[1].split("</tr>")[0]
        # A nearest-neighbour search ranks every memory: it says so, not "N memories match".
        assert f"Top {len(listed(response))} of " in html(response) and "memories searched." in html(response)
    else:
        assert "memories match." in html(response)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"user_id": "alice"}, {"cat", "tax"}),
        ({"user_id_op": "ne", "user_id": "alice"}, {"dog"}),
        ({"topics_op": "any", "topics": "finance, exercise"}, {"dog", "tax"}),
        ({"topics_op": "all", "topics": "pets,exercise"}, {"dog"}),
        ({"namespace": "work"}, {"tax"}),
        ({"session_id": "s1"}, {"cat"}),
        ({"entities": "smokey"}, {"cat"}),
        ({"memory_type": "episodic"}, {"dog"}),
        ({"memory_type_op": "any", "memory_type": "semantic,episodic"}, {"cat", "dog", "tax"}),
        ({"created_at_from": "1500", "created_at_to": "2500"}, {"dog"}),
        ({"created_at_from": "1970-01-01T00:40:00Z"}, {"tax"}),
        ({"event_date_to": "2024-12-31T00:00:00Z"}, {"cat"}),
        ({"last_accessed_from": "2000-01-01"}, {"cat", "dog", "tax"}),
    ],
)
def test_every_filter_of_the_api_is_a_form_field(console: Client, pets, params, expected):
    response = console.get("/console/memories/", params)
    assert response.status_code == 200, html(response)
    assert set(listed(response)) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"namespace": "ghost"},
        {"namespace": "ghost", "namespace_op": "eq", "text": "cat"},
        {"namespace": "bad ns!", "namespace_op": "eq"},
    ],
)
def test_a_namespace_without_memories_lists_none_rather_than_fail(console: Client, pets, params):
    response = console.get("/console/memories/", params)
    assert response.status_code == 200, html(response)
    assert listed(response) == []
    assert console.get("/console/memories/bulk-delete/", params).status_code == 200


def test_paging_keeps_the_query_and_shows_the_total(console: Client, pets):
    first = console.get("/console/memories/", {"limit": 2})
    assert listed(first) == ["tax", "dog"]
    assert "1 to 2 of 3" in html(first)
    assert "offset=2" in html(first)
    second = console.get("/console/memories/", {"limit": 2, "offset": 2})
    assert listed(second) == ["cat"]
    assert "3 to 3 of 3" in html(second)


@pytest.mark.parametrize(
    ("params", "field_message"),
    [
        ({"created_at_from": "yesterday"}, "must be epoch seconds or an ISO-8601 date-time"),
        ({"created_at_from": "3000", "created_at_to": "1000"}, "must not be before"),
        ({"memory_type": "diary"}, "is not a memory type"),
        ({"limit": "lots"}, "Enter a whole number"),
        ({"limit": "1000"}, "less than or equal to 100"),
        ({"distance_threshold": "5"}, "less than or equal to 2"),
        ({"search_mode": "psychic"}, "Select a valid choice"),
        ({"topics": "bad\x01tag"}, "control characters"),
        ({"namespace_op": "any", "namespace": " , "}, None),
    ],
)
def test_invalid_filters_show_a_form_error_not_a_500(console: Client, pets, params, field_message):
    response = console.get("/console/memories/", params)
    if field_message is None:  # nothing usable given: no filter, everything listed
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert 'class="errorlist' in html(response)
    assert field_message in html(response)


def test_query_syntax_in_the_search_text_is_harmless(console: Client, pets):
    for text in ['"unclosed', "it's -dog @user_id:{x} | (", "*", "%%%"]:
        for mode in ("semantic", "keyword", "hybrid"):
            assert console.get("/console/memories/", {"text": text, "search_mode": mode}).status_code == 200


def test_a_memory_detail_shows_every_field(console: Client, pets):
    response = console.get("/console/memories/default/cat/")
    assert response.status_code == 200
    page = html(response)
    for value in (
        "Alice has a grey cat named Smokey",
        "pets",
        "Smokey",
        "alice",
        "s1",
        "2024-03-01 10:00:00 UTC",
    ):
        assert value in page
    for field in (
        "memory_hash",
        "persisted_at",
        "access_count",
        "discrete_memory_extracted",
        "extracted_from",
    ):
        assert field in page


@pytest.mark.parametrize(
    "path",
    [
        "/console/memories/default/nope/",
        "/console/memories/work/cat/",
        "/console/memories/default/bad%20id/",
        "/console/memories/default/nope/edit/",
        "/console/memories/default/nope/delete/",
    ],
)
def test_an_unknown_memory_is_a_404_page(console: Client, pets, path):
    response = console.get(path)
    assert response.status_code == 404
    assert "Not found" in html(response)


def test_editing_the_text_re_embeds_it_so_a_search_finds_the_new_text(console: Client, pets):
    form = console.get("/console/memories/default/cat/edit/")
    assert form.status_code == 200
    assert "Alice has a grey cat named Smokey" in html(form)
    response = console.post(
        "/console/memories/default/cat/edit/",
        {
            "text": "Alice adopted a parrot called Captain that speaks French",
            "memory_type": "episodic",
            "topics": "birds\nadoption",
            "entities": "Alice\nCaptain",
            "event_date": "2024-06-01T00:00:00Z",
            "session_id": "s9",
            "user_id": "alice",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/console/memories/default/cat/?user_id=alice"  # ids are per user
    detail = html(console.get("/console/memories/default/cat/"))
    assert "parrot called Captain" in detail and "grey cat" not in detail
    assert (
        "episodic" in detail and "birds" in detail and "s9" in detail and "2024-06-01 00:00:00 UTC" in detail
    )

    found = console.get("/console/memories/", {"text": "French-speaking parrot", "search_mode": "semantic"})
    assert listed(found)[0] == "cat"
    keyword = console.get("/console/memories/", {"text": "Captain parrot", "search_mode": "keyword"})
    assert listed(keyword) == ["cat"]
    assert listed(console.get("/console/memories/", {"topics": "birds"})) == ["cat"]


def test_an_edit_is_recorded_in_the_audit_log(console: Client, pets, redis_client):
    console.post(
        "/console/memories/default/dog/edit/",
        {
            "text": "Bob walks Rex at noon",
            "memory_type": "episodic",
            "topics": "pets\nexercise",
            "user_id": "bob",
        },
    )
    (entry,) = AuditLog(get_redis()).page()
    assert (entry.actor, entry.action, entry.target) == (
        "ops",
        "memory.edit",
        "memory 'dog' in namespace 'default'",
    )
    assert entry.details["changes"] == {
        "text": {"from": "Bob walks his dog Rex every morning", "to": "Bob walks Rex at noon"}
    }


def test_clearing_optional_fields_sets_them_to_none(console: Client, pets):
    response = console.post(
        "/console/memories/default/cat/edit/",
        {
            "text": "Alice has a grey cat named Smokey",
            "memory_type": "semantic",
            "event_date": "",
            "session_id": "",
        },
    )
    assert response.status_code == 302
    page = html(console.get("/console/memories/default/cat/"))
    assert "<dt>session_id</dt><dd>—</dd>" in page
    assert "2024-03-01" not in page


def test_an_unchanged_form_changes_nothing_and_records_nothing(console: Client, pets):
    form = console.get("/console/memories/default/dog/edit/").context["form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    response = console.post("/console/memories/default/dog/edit/", data, follow=True)
    assert "Nothing changed." in html(response)
    assert AuditLog(get_redis()).total() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "", "memory_type": "semantic"}, "This field is required"),
        ({"text": "x", "memory_type": "diary"}, "Select a valid choice"),
        ({"text": "x", "memory_type": "semantic", "event_date": "soon"}, "ISO-8601"),
        ({"text": "x", "memory_type": "semantic", "user_id": "no spaces"}, "1-200 characters"),
        ({"text": "x", "memory_type": "semantic", "topics": "a" * 201}, "at most 200 characters"),
    ],
)
def test_invalid_edits_show_form_errors_and_change_nothing(console: Client, pets, data, message):
    response = console.post("/console/memories/default/cat/edit/", data)
    assert response.status_code == 400
    assert message in html(response)
    assert "grey cat" in html(console.get("/console/memories/default/cat/"))


def test_an_edit_that_duplicates_another_memory_is_refused(console: Client, pets):
    store_memories({"id": "cat2", "text": "Alice has a black cat", "user_id": "alice"})
    response = console.post(
        "/console/memories/default/cat2/edit/",
        {"text": "alice has a GREY cat named smokey", "memory_type": "semantic", "user_id": "alice"},
    )
    assert response.status_code == 400
    assert "duplicates memory" in html(response)


def test_delete_asks_first_then_deletes_and_audits(console: Client, pets):
    confirm = console.get("/console/memories/default/dog/delete/")
    assert confirm.status_code == 200
    assert "Bob walks his dog" in html(confirm) and 'method="post"' in html(confirm)
    assert console.get("/console/memories/default/dog/").status_code == 200  # still there

    response = console.post("/console/memories/default/dog/delete/")
    assert response.status_code == 302
    assert console.get("/console/memories/default/dog/").status_code == 404
    (entry,) = AuditLog(get_redis()).page()
    assert (entry.action, entry.target) == ("memory.delete", "memory 'dog' in namespace 'default'")
    assert entry.details["text"] == "Bob walks his dog Rex every morning"


XSS = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def test_memory_text_is_escaped_everywhere_it_is_shown(console: Client):
    store_memories({"id": "evil", "text": XSS, "topics": ["<b>topic</b>"], "entities": ["<i>e</i>"]})
    for path in (
        "/console/memories/",
        "/console/memories/?text=alert",
        "/console/memories/default/evil/",
        "/console/memories/default/evil/edit/",
        "/console/memories/default/evil/delete/",
    ):
        page = html(console.get(path))
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>topic" not in page, path
        assert "&lt;script&gt;alert(" in page, path


def test_browser_line_endings_alone_do_not_change_the_text(console: Client):
    store_memories({"id": "poem", "text": "line one\nline two"})
    response = console.post(
        "/console/memories/default/poem/edit/",
        {"text": "line one\r\nline two", "memory_type": "semantic", "topics": "verse\r\nshort"},
    )
    assert response.status_code == 302
    (entry,) = AuditLog(get_redis()).page()
    assert list(entry.details["changes"]) == ["topics"]
    assert entry.details["changes"]["topics"]["to"] == ["verse", "short"]


def test_two_users_memories_of_one_id_each_have_their_page(console: Client):
    store_memories(
        {"id": "pref", "text": "Alice prefers tea", "user_id": "alice"},
        {"id": "pref", "text": "Bob prefers coffee", "user_id": "bob"},
    )
    page = html(console.get("/console/memories/"))
    assert "/console/memories/default/pref/?user_id=alice" in page
    assert "/console/memories/default/pref/?user_id=bob" in page
    assert "Bob prefers coffee" in html(console.get("/console/memories/default/pref/", {"user_id": "bob"}))
    ambiguous = console.get("/console/memories/default/pref/")
    assert ambiguous.status_code == 404 and "name the user_id" in html(ambiguous)
    deleted = console.post("/console/memories/default/pref/delete/?user_id=bob")
    assert deleted.status_code == 302
    assert "Alice prefers tea" in html(console.get("/console/memories/default/pref/"))  # the only one now


def test_a_namespaces_topics_are_listed_with_counts_and_link_to_their_memories(console: Client, pets):
    page = html(console.get("/console/memories/topics/", {"namespace": "default"}))
    rows = [row.split("</tr>")[0] for row in page.split("<tr>")[2:]]
    assert len(rows) == 2 and "pets" in rows[0] and ">2<" in rows[0]  # most common first
    assert "exercise" in rows[1] and ">1<" in rows[1]
    assert "finance" not in page  # another namespace's topic
    link = rows[0].split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert link == "/console/memories/?namespace=default&topics=pets"
    assert set(listed(console.get(link))) == {"cat", "dog"}


def test_a_namespace_without_topics_says_so(console: Client, pets):
    response = console.get("/console/memories/topics/", {"namespace": "nobody"})
    assert response.status_code == 200 and "No topics in namespace 'nobody' yet." in html(response)
