"""The console under the real ASGI app (uvicorn), as `scripts/serve` runs it: the full Django stack
with sessions, CSRF and messages, and the services called from sync views on the server's loop."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.console.conftest import store_memories

pytestmark = pytest.mark.django_db(transaction=True)  # the server thread must see the staff user


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def browser(live_server_url: str, redis_client, django_user_model):
    django_user_model.objects.create_user("ops", password="correct horse", is_staff=True)
    with httpx.Client(base_url=live_server_url, timeout=30) as client:
        yield client


def log_in(browser: httpx.Client) -> None:
    page = browser.get("/console/login/?next=/console/")
    response = browser.post(
        "/console/login/",
        data={
            "username": "ops",
            "password": "correct horse",
            "next": "/console/",
            "csrfmiddlewaretoken": csrf_token(page.text),
        },
        headers={"Referer": str(page.url)},
    )
    assert response.status_code == 302, response.text
    assert response.headers["location"] == "/console/"


def test_anonymous_visitors_are_sent_to_the_login_page(browser: httpx.Client):
    response = browser.get("/console/memories/")
    assert response.status_code == 302
    assert response.headers["location"] == "/console/login/?next=/console/memories/"


def test_log_in_then_edit_a_memory_through_the_server(browser: httpx.Client):
    store_memories({"id": "m1", "text": "The office plant needs water on Mondays"})
    log_in(browser)
    assert "Dashboard" in browser.get("/console/").text

    form = browser.get("/console/memories/default/m1/edit/")
    refused = browser.post(
        "/console/memories/default/m1/edit/", data={"text": "no token", "memory_type": "semantic"}
    )
    assert refused.status_code == 403  # CSRF

    response = browser.post(
        "/console/memories/default/m1/edit/",
        data={
            "text": "The office cactus needs no water",
            "memory_type": "semantic",
            "csrfmiddlewaretoken": csrf_token(form.text),
        },
        headers={"Referer": str(form.url)},
    )
    assert response.status_code == 302, response.text
    detail = browser.get("/console/memories/default/m1/")
    assert "The office cactus needs no water" in detail.text
    assert "Saved memory" in detail.text  # the message survived the redirect
    found = browser.get("/console/memories/", params={"text": "succulent that is never watered"})
    assert found.text.index("The office cactus") > 0
