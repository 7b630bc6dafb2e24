"""What every client sees: health, docs, schema, JSON errors, body limits."""

from __future__ import annotations

import io
import socket
import time

import pytest
from django.core.management import call_command


def test_health_reports_epoch_seconds(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert abs(response.json()["now"] - time.time()) < 5
    assert isinstance(response.json()["now"], int)


def test_openapi_schema_documents_every_endpoint(api):
    schema = api.get("/openapi.json").json()
    assert schema["info"]["title"] == "Agent Memory Server"
    paths = schema["paths"]
    assert set(paths["/sessions/{session_id}/memory"]) >= {"get", "put", "delete"}
    assert "get" in paths["/sessions/"] and "get" in paths["/health"]
    put = paths["/sessions/{session_id}/memory"]["put"]
    parameters = {p["name"] for p in put["parameters"]}
    assert {"namespace", "model_name", "context_window_max", "window_size"} <= parameters
    components = schema["components"]["schemas"]
    assert "messages" in components["WorkingMemoryInputRequest"]["properties"]


def test_docs_are_served_with_local_assets(api):
    page = api.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    assert "cdn" not in page.text.lower()
    asset = next(part.split('"')[0] for part in page.text.split('src="')[1:] if "swagger" in part)
    assert api.get(asset).status_code == 200


def test_unknown_path_is_a_json_404(api):
    response = api.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "No endpoint at /no/such/thing.", "status_code": 404}


@pytest.mark.parametrize(
    ("path", "route"), [("/sessions", "/sessions/"), ("/long-term-memory/", "/long-term-memory")]
)
def test_a_404_names_the_route_a_slash_away(api, path, route):
    response = api.get(path)
    assert response.status_code == 404
    assert response.json()["detail"] == f"No endpoint at {path}. Did you mean {route}?"


def test_wrong_method_is_a_json_405(api):
    response = api.post("/sessions/s/memory", json={})
    assert response.status_code == 405
    assert response.json()["status_code"] == 405


def raw_request(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request)
        return conn.recv(65536)


def test_declared_oversized_body_is_refused_before_it_is_sent(live_server_url, settings):
    size = settings.MAX_REQUEST_BODY_BYTES + 1
    head = (
        f"PUT /sessions/s/memory HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    reply = raw_request(live_server_url, head + b"{")
    assert reply.startswith(b"HTTP/1.1 413")
    assert b'"status_code":413' in reply


def test_api_responses_carry_safety_headers(api):
    response = api.get("/health")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_api_paths_check_allowed_hosts(api, settings):
    settings.ALLOWED_HOSTS = ["memory.example.com"]
    assert api.get("/health", headers={"host": "evil.example"}).status_code == 400
    assert api.get("/health", headers={"host": "memory.example.com"}).status_code == 200


def test_admin_pages_keep_the_full_middleware_stack(api, db):
    page = api.get("/admin/login/")
    assert page.status_code == 200
    assert "csrftoken" in page.cookies
    assert page.headers["x-frame-options"] == "DENY"


def test_every_operation_but_health_declares_bearer_auth_so_docs_can_authorize(api, settings):
    schema = api.get("/openapi.json").json()
    (name, scheme), *_ = schema["components"]["securitySchemes"].items()
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    public = {
        (path, method)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if operation["security"] == []
    }
    assert public == {("/health", "get"), ("/v1/health", "get")}
    assert schema["paths"]["/sessions/{session_id}/memory"]["get"]["security"] == [{name: []}]

    # What Swagger UI's "Authorize" sends, built from the scheme, is what the server checks.
    settings.AUTH_MODE = "token"
    out = io.StringIO()
    call_command("token", "add", "--scope", "memory:read", stdout=out, stderr=io.StringIO())
    header = {"Authorization": f"{scheme['scheme'].capitalize()} {out.getvalue().strip()}"}
    assert api.get("/sessions/").status_code == 401
    assert api.get("/sessions/", headers=header).status_code == 200
