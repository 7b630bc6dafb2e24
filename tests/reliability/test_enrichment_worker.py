"""Enrichment without an API key, by a real worker process: entities within seconds, topics
once a namespace is big enough."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.longterm_app.test_bertopic_topics import store, topics_of
from tests.longterm_app.test_topic_model import KNOWN, memories
from tests.reliability.processes import base_env, kill, start_worker, wait_for

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def worker(settings, tmp_path, redis_client, use_test_redis):
    pytest.importorskip("bertopic", reason="requirements/topics.txt is not installed")
    local = {"ENTITY_EXTRACTOR": "local", "TOPIC_MODEL": "bertopic"}
    settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = None
    for name, value in local.items():
        setattr(settings, name, value)
    process = start_worker(base_env(use_test_redis, tmp_path, **local), tmp_path / "worker.log")
    yield process
    kill(process)


def test_one_worker_tags_names_within_30_s_and_topics_by_subject_within_2_min(api, worker):
    text = "Maria Lopez moved to Berlin in 2023 to work for Siemens"
    assert (
        api.post("/long-term-memory", json={"memories": [{"id": "maria", "text": text}]}).status_code == 200
    )

    def names() -> list[str]:
        return list(api.get("/long-term-memory/maria").json()["entities"])

    assert {"Maria Lopez", "Berlin", "Siemens"} <= set(wait_for(names, 30, "entities", interval=0.2))

    texts, subjects = memories(200, KNOWN, seed=3)
    ids = store(api, texts, "s", namespace="subjects")

    def all_topics() -> list[list[str]] | None:
        found = topics_of(api, ids, namespace="subjects")
        return found if all(found) else None

    topics = wait_for(all_topics, 120, "topics of 200 memories", interval=1.0)
    by_subject: dict[str, Counter[str]] = {}
    for subject, memory_topics in zip(subjects, topics, strict=True):
        by_subject.setdefault(subject, Counter())[memory_topics[0]] += 1
    assert all(counts.most_common(1)[0][1] >= 0.95 * 50 for counts in by_subject.values())
    assert len({counts.most_common(1)[0][0] for counts in by_subject.values()}) == 4
