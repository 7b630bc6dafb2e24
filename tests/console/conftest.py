"""Console tests: Django's test client as a staff user, on the real Redis and the real services."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from console.runner import with_memory_store, with_session_store
from longterm_app import services as memory_services
from longterm_app.schemas import CreateMemoriesRequest
from longterm_app.tasks import BACKGROUND as LONG_TERM_WORK
from memoryserver.auth.principal import ADMIN, Principal
from providers.embeddings import get_embedder
from sessions_app import services as session_services
from sessions_app.schemas import WindowQuery, WorkingMemoryInput
from sessions_app.tasks import BACKGROUND as SESSION_WORK

# The agents' side of the tests: writes through the services, as the API makes them.
AGENT = Principal(subject="agent", method="disabled", scopes=frozenset({ADMIN}))


@pytest.fixture
def staff(db, django_user_model):
    return django_user_model.objects.create_user("ops", password="correct horse", is_staff=True)


@pytest.fixture
def console(client: Client, staff, redis_client) -> Client:
    """A test client logged in as staff, on an empty Redis."""
    client.force_login(staff)
    return client


def store_memories(*memories: dict[str, Any]) -> list[str]:
    """Store memories now, in batches small enough to be indexed on the request path."""
    stored: list[str] = []
    for start in range(0, len(memories), memory_services.SYNC_BATCH_LIMIT):
        batch = list(memories[start : start + memory_services.SYNC_BATCH_LIMIT])
        request = CreateMemoriesRequest.model_validate({"memories": batch})
        result = with_memory_store(
            lambda store, request=request: memory_services.create_memories(
                store, get_embedder(), AGENT, request, LONG_TERM_WORK
            )
        )
        assert result.status == "ok"
        stored += result.stored
    return stored


def put_session(session_id: str, namespace: str = "default", user_id: str | None = None, **body: Any) -> None:
    query = WindowQuery(namespace=namespace, user_id=user_id, window_size=10_000)
    memory = WorkingMemoryInput.model_validate(body)
    with_session_store(
        lambda store: session_services.put_working_memory(
            store, AGENT, session_id, memory, query, SESSION_WORK
        )
    )


def html(response) -> str:
    return response.content.decode()
