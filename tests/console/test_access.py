"""No console page without a staff login: anonymous -> login page, non-staff -> 403; CSRF on writes."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.console.conftest import html

PAGES = [
    "/console/",
    "/console/sessions/",
    "/console/sessions/default/s1/",
    "/console/sessions/default/s1/delete/",
    "/console/memories/",
    "/console/memories/?text=tea",
    "/console/memories/bulk-delete/?namespace=default",
    "/console/memories/default/m1/",
    "/console/memories/default/m1/edit/",
    "/console/memories/default/m1/delete/",
    "/console/workers/",
    "/console/audit/",
]
WRITES = [
    "/console/sessions/default/s1/delete/",
    "/console/memories/default/m1/edit/",
    "/console/memories/default/m1/delete/",
    "/console/memories/bulk-delete/",
    "/console/workers/compact/",
    "/console/workers/default/failed/abc/retry/",
    "/console/workers/default/failed/abc/delete/",
]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/?next=")


@pytest.mark.parametrize("path", WRITES)
def test_anonymous_writes_are_sent_to_the_login_page_and_change_nothing(client: Client, db, path):
    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/")


@pytest.fixture
def non_staff(client: Client, db, django_user_model) -> Client:
    client.force_login(django_user_model.objects.create_user("agent-dev", password="pw"))
    return client


@pytest.mark.parametrize("path", PAGES)
def test_logged_in_non_staff_users_get_403(non_staff: Client, path):
    response = non_staff.get(path)
    assert response.status_code == 403
    assert "not staff" in html(response)


@pytest.mark.parametrize("path", WRITES)
def test_non_staff_writes_get_403(non_staff: Client, path):
    assert non_staff.post(path).status_code == 403


def test_inactive_staff_get_403(client: Client, db, django_user_model):
    client.force_login(django_user_model.objects.create_user("gone", password="pw", is_staff=True))
    django_user_model.objects.filter(username="gone").update(is_active=False)
    # Django logs out users who became inactive; either way they see no console.
    assert client.get("/console/").status_code in (302, 403)


def test_staff_log_in_with_a_password_and_land_on_the_dashboard(client: Client, staff, redis_client):
    page = client.get("/console/login/?next=/console/workers/")
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in html(page)
    response = client.post(
        "/console/login/", {"username": "ops", "password": "correct horse", "next": "/console/workers/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/console/workers/"
    assert client.get("/console/").status_code == 200


def test_a_wrong_password_is_refused(client: Client, staff):
    response = client.post("/console/login/", {"username": "ops", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in html(response)


def test_log_out_is_a_post(console: Client):
    assert console.post("/console/logout/").status_code == 302
    assert console.get("/console/").status_code == 302


@pytest.mark.parametrize("path", WRITES)
def test_writes_without_a_csrf_token_are_refused(staff, redis_client, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.post(path).status_code == 403


@pytest.mark.parametrize("path", ["/console/workers/compact/", "/console/workers/default/failed/abc/retry/"])
def test_writes_refuse_get(console: Client, path):
    assert console.get(path).status_code == 405


def test_every_form_that_posts_carries_a_csrf_token(console: Client):
    page = html(console.get("/console/workers/"))
    assert page.count('method="post"') == page.count('name="csrfmiddlewaretoken"')


def test_the_login_page_offers_oidc_when_it_is_configured(client: Client, db, settings):
    assert "identity provider" not in html(client.get("/console/login/"))
    settings.OIDC_ENABLED = True
    settings.LOGIN_URL = "/oidc/authenticate/"
    page = html(client.get("/console/login/?next=/console/audit/"))
    assert 'href="/oidc/authenticate/?next=/console/audit/"' in page
