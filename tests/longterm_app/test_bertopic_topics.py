"""Topics without an API key: the worker fits BERTopic per namespace on the stored embeddings
once the namespace holds enough memories, and tags new memories from the fitted model."""

from __future__ import annotations

from collections import Counter

import pytest

from longterm_app.tasks import fit_namespace_topics
from longterm_app.topic_model import MIN_MEMORIES
from tests.longterm_app.test_topic_model import KNOWN, memories


@pytest.fixture(autouse=True)
def no_chat_model(settings):
    settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = None
    settings.TOPIC_MODEL = "bertopic"
    pytest.importorskip("bertopic", reason="requirements/topics.txt is not installed")


def store(api, texts: list[str], prefix: str, namespace: str = "default") -> list[str]:
    """Store the texts; the ids of the memories they became (a repeated text merges into the
    first one, whose id stands in for it)."""
    ids = [f"{prefix}{number:04d}" for number in range(len(texts))]
    into: dict[str, str] = {}
    for start in range(0, len(texts), 100):
        body = [{"id": i, "text": t, "namespace": namespace} for i, t in zip(ids, texts, strict=True)]
        response = api.post("/long-term-memory", json={"memories": body[start : start + 100]})
        assert response.status_code == 200, response.text
        into |= {merged["id"]: merged["into"].split(":")[-1] for merged in response.json()["merged"]}
    return [into.get(i, i) for i in ids]


def topics_of(api, ids: list[str], namespace: str = "default") -> list[list[str]]:
    answers = [api.get(f"/long-term-memory/{i}", params={"namespace": namespace}) for i in ids]
    bad = [a.text for a in answers if a.status_code != 200]
    assert not bad, bad[:2]
    return [a.json()["topics"] for a in answers]


def test_a_namespace_that_reaches_the_threshold_gets_topics_by_subject(api, sync_jobs):
    texts, subjects = memories(200, KNOWN, seed=3)
    ids = store(api, texts, "s")
    topics = topics_of(api, ids)
    assert all(len(t) == 1 for t in topics)  # every memory got one topic
    by_subject: dict[str, Counter[str]] = {}
    for subject, (topic,) in zip(subjects, topics, strict=True):
        by_subject.setdefault(subject, Counter())[topic] += 1
    # Memories about the same subject share a topic, and the four subjects have four topics.
    assert all(counts.most_common(1)[0][1] >= 0.95 * 50 for counts in by_subject.values())
    assert len({counts.most_common(1)[0][0] for counts in by_subject.values()}) == 4


def test_new_memories_get_a_topic_from_the_model_without_refitting(api, sync_jobs, redis_client):
    texts, old_subjects = memories(200, KNOWN, seed=3)
    old_ids = store(api, texts, "s")
    (model_key,) = redis_client.keys("topic_model:*")
    fitted = redis_client.get(model_key)
    new_texts, new_subjects = memories(8, KNOWN, seed=99)
    new_ids = store(api, new_texts, "n")
    assert redis_client.get(model_key) == fitted  # not refitted for 8 more memories
    old_topics = topics_of(api, old_ids)
    label = {
        subject: Counter(
            t[0] for t, s in zip(old_topics, old_subjects, strict=True) if s == subject
        ).most_common(1)[0][0]
        for subject in KNOWN
    }
    assert topics_of(api, new_ids) == [[label[subject]] for subject in new_subjects]


def test_a_namespace_too_small_for_topics_says_so(api, sync_jobs):
    texts, _ = memories(MIN_MEMORIES - 1, KNOWN, seed=4)
    ids = store(api, texts, "t", namespace="small")
    result = fit_namespace_topics("small")
    assert result["status"] == "too_few" and result["memories"] == MIN_MEMORIES - 1
    assert "Topics are fitted from 100 on" in result["detail"]
    assert topics_of(api, ids[:3], namespace="small") == [[], [], []]


def test_topics_a_client_gave_are_kept(api, sync_jobs):
    texts, _ = memories(120, KNOWN, seed=5)
    given = [{"id": "g1", "text": texts[0], "topics": ["mine"]}]
    assert api.post("/long-term-memory", json={"memories": given}).status_code == 200
    store(api, texts[1:], "k")
    assert topics_of(api, ["g1"]) == [["mine"]]


def test_info_reports_bertopic(api):
    features = api.get("/info").json()["features"]
    assert features["bertopic"]["enabled"] is True and "BERTopic" in features["bertopic"]["detail"]
    assert features["topics"]["enabled"] is True
