"""Sessions in the console: list by namespace with paging, a session whole, delete with confirmation."""

from __future__ import annotations

from django.test import Client

from console.audit import AuditLog
from memoryserver.redis import get_redis
from tests.console.conftest import html, put_session


def test_the_list_filters_by_namespace_and_pages(console: Client):
    for number in range(5):
        put_session(f"s{number}", namespace="support", messages=[{"role": "user", "content": "hi"}])
    put_session("other", namespace="sales")
    put_session("mine", namespace="support", user_id="alice")

    everything = html(console.get("/console/sessions/"))
    assert "1 to 7 of 7 sessions" in everything

    first = console.get("/console/sessions/", {"namespace": "support", "limit": 4})
    page = html(first)
    assert first.status_code == 200
    assert "1 to 4 of 6" in page
    assert "mine" in page and "other" not in page  # newest first
    assert "/console/sessions/support/mine/?user_id=alice" in page
    second = html(console.get("/console/sessions/", {"namespace": "support", "limit": 4, "offset": 4}))
    assert "5 to 6 of 6" in second and "s0" in second

    alice = html(console.get("/console/sessions/", {"namespace": "support", "user_id": "alice"}))
    assert "1 to 1 of 1" in alice


def test_invalid_list_filters_show_a_form_error(console: Client):
    for params, message in [
        ({"namespace": "no spaces"}, "1-200 characters"),
        ({"user_id": "alice"}, "name the namespace"),
        ({"limit": "x"}, "Enter a whole number"),
    ]:
        response = console.get("/console/sessions/", params)
        assert response.status_code == 400
        assert message in html(response)


def test_a_session_shows_messages_summary_memories_data_tokens_and_ttl(console: Client):
    put_session(
        "chat-1",
        namespace="support",
        user_id="alice",
        messages=[
            {"role": "user", "content": "My order 1234 never arrived"},
            {"role": "assistant", "content": "Sorry to hear that, let me check"},
        ],
        context="Alice reported a missing order.",
        memories=[{"text": "Alice's order 1234 is missing", "topics": ["orders"], "entities": ["Alice"]}],
        data={"ticket": 42, "tags": ["urgent"]},
        ttl_seconds=3600,
    )
    response = console.get("/console/sessions/support/chat-1/", {"user_id": "alice"})
    assert response.status_code == 200
    page = html(response)
    for text in (
        "My order 1234 never arrived",
        "Sorry to hear that, let me check",
        "Alice reported a missing order.",
        "order 1234 is missing",
        "orders",
        "&quot;ticket&quot;: 42",
        "urgent",
        "<dd>1h, expires in ",
    ):
        assert text in page, text
    assert 3500 < response.context["remaining_ttl"] <= 3600
    assert response.context["memory"].tokens > 0
    assert f"<dt>Tokens</dt><dd>{response.context['memory'].tokens}</dd>" in page


def test_viewing_a_session_does_not_mark_it_accessed(console: Client):
    put_session("quiet", messages=[{"role": "user", "content": "hi"}])
    first = console.get("/console/sessions/default/quiet/").context["memory"].last_accessed
    assert console.get("/console/sessions/default/quiet/").context["memory"].last_accessed == first


def test_an_unknown_or_invalid_session_is_a_404_page(console: Client):
    put_session("mine", namespace="support", user_id="alice")
    for path in (
        "/console/sessions/support/nope/",
        "/console/sessions/support/mine/",  # another user's session needs its user
        "/console/sessions/support/bad%20id/",
        "/console/sessions/support/nope/delete/",
    ):
        response = console.get(path)
        assert response.status_code == 404, path
        assert "No working memory" in html(response)


def test_delete_asks_first_then_deletes_and_audits(console: Client):
    put_session("doomed", namespace="support", user_id="bob", messages=[{"role": "user", "content": "bye"}])
    path = "/console/sessions/support/doomed/delete/?user_id=bob"
    confirm = console.get(path)
    assert confirm.status_code == 200
    assert "session &#x27;doomed&#x27; in namespace &#x27;support&#x27;" in html(confirm)
    assert 'action="/console/sessions/support/doomed/delete/?user_id=bob"' in html(confirm)
    assert console.get("/console/sessions/support/doomed/?user_id=bob").status_code == 200

    response = console.post(path)
    assert response.status_code == 302
    assert response["Location"] == "/console/sessions/?namespace=support"
    assert console.get("/console/sessions/support/doomed/?user_id=bob").status_code == 404
    assert "doomed" not in html(console.get("/console/sessions/", {"namespace": "support"}))
    (entry,) = AuditLog(get_redis()).page()
    assert entry.action == "session.delete"
    assert entry.target == "session 'doomed' in namespace 'support' of user 'bob'"
    assert entry.details == {"namespace": "support", "user_id": "bob", "session_id": "doomed"}


def test_session_content_is_escaped(console: Client):
    put_session(
        "evil",
        messages=[{"role": "user", "content": "<script>alert('msg')</script>"}],
        context="<script>alert('ctx')</script>",
        memories=[{"text": "<script>alert('mem')</script>"}],
        data={"<script>": "<script>alert('data')</script>"},
    )
    page = html(console.get("/console/sessions/default/evil/"))
    assert "<script>alert(" not in page
    for where in ("msg", "ctx", "mem"):
        assert f"&lt;script&gt;alert(&#x27;{where}&#x27;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#x27;data&#x27;)" in page
