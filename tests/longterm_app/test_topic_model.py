"""Topics per namespace: BERTopic fitted on the local embedding model's vectors, stored in Redis."""

from __future__ import annotations

import asyncio
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.metrics import adjusted_rand_score

from longterm_app.topic_model import (
    MIN_MEMORIES,
    FittedTopics,
    TooFewMemories,
    TopicFit,
    TopicModelMismatch,
    assign_topics,
    fit_topics,
    needs_refit,
)
from longterm_app.topic_store import TopicModelStore
from memoryserver.errors import FeatureDisabled
from memoryserver.redis import fresh_async_redis
from providers.embeddings import get_embedder

T = TypeVar("T")

# Each subject: sentence templates, what they are about, how they end (every combination occurs).
SUBJECTS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "cooking": (
        [
            "I cooked {x} for dinner {t}",
            "We tried a new recipe for {x} {t}",
            "My grandmother taught me to make {x} {t}",
            "I burned the {x} {t}",
            "She baked {x} for the party {t}",
            "The {x} needed more salt and garlic {t}",
            "Tonight I want to prepare {x} {t}",
            "The kitchen smelled of {x} {t}",
        ],
        [
            "lasagna",
            "pasta carbonara",
            "chicken curry",
            "sourdough bread",
            "banana pancakes",
            "vegetable soup",
            "apple pie",
            "beef stew",
            "mushroom risotto",
            "fish tacos",
            "a lemon cake",
            "homemade dumplings",
        ],
        [
            "in the oven",
            "with fresh basil",
            "on the stove",
            "using olive oil",
            "for my family",
            "with too much pepper",
            "from the cookbook",
            "in a cast iron pan",
        ],
    ),
    "running": (
        [
            "I ran {x} this morning {t}",
            "Training for {x} is going well {t}",
            "My knee hurt after {x} {t}",
            "We signed up for {x} {t}",
            "I finished {x} with a new personal best {t}",
            "Coach said to slow down during {x} {t}",
            "My pace was faster on {x} {t}",
            "I was exhausted after {x} {t}",
        ],
        [
            "a 10k",
            "the half marathon",
            "an interval session",
            "a long trail run",
            "the city marathon",
            "hill repeats",
            "a recovery jog",
            "a 5k race",
            "track sprints",
            "a tempo run",
        ],
        [
            "in the rain",
            "with new running shoes",
            "at a steady pace",
            "and stretched afterwards",
            "with my running club",
            "despite the heat",
            "before sunrise",
            "along the river",
        ],
    ),
    "photography": (
        [
            "I took photos of {x} {t}",
            "My new camera is great for {x} {t}",
            "I edited the pictures of {x} {t}",
            "The lens was perfect for {x} {t}",
            "I printed a photo of {x} {t}",
            "Lighting was tricky when shooting {x} {t}",
            "I want to improve my shots of {x} {t}",
            "The exposure was wrong on my photos of {x} {t}",
        ],
        [
            "the sunset",
            "birds in the park",
            "a wedding",
            "street portraits",
            "the mountains",
            "night skies",
            "city architecture",
            "wildflowers",
            "a jazz concert",
            "the harbour",
        ],
        [
            "with a wide aperture",
            "using a tripod",
            "in raw format",
            "at golden hour",
            "with a 50mm lens",
            "and adjusted the white balance",
            "with a long shutter speed",
            "in black and white",
        ],
    ),
    "car repair": (
        [
            "The mechanic replaced {x} on my car {t}",
            "I changed {x} myself {t}",
            "My car needs {x} {t}",
            "The garage quoted a lot for {x} {t}",
            "I watched a video about fixing {x} {t}",
            "The check engine light came on because of {x} {t}",
            "I ordered parts for {x} {t}",
            "The truck broke down, probably {x} {t}",
        ],
        [
            "the brake pads",
            "the engine oil",
            "a flat tyre",
            "the car battery",
            "the timing belt",
            "the alternator",
            "the spark plugs",
            "the radiator hose",
            "the clutch",
            "the exhaust pipe",
        ],
        [
            "at the garage",
            "in the driveway",
            "before the road trip",
            "with a socket wrench",
            "under warranty",
            "after the inspection",
            "on the jack stands",
            "at the dealership",
        ],
    ),
    # Subjects no model is fitted on.
    "taxes": (
        ["I filed {x} {t}", "The accountant asked about {x} {t}", "I found receipts for {x} {t}"],
        ["my tax return", "deductible expenses", "the VAT invoice", "capital gains", "pension contributions"],
        ["before the deadline", "for the self-employed income", "with the revenue office", "for last year"],
    ),
    "dentist": (
        [
            "The dentist said I need {x} {t}",
            "I booked an appointment for {x} {t}",
            "The hygienist did {x} {t}",
        ],
        ["a filling", "a root canal", "a cleaning", "braces", "a crown", "a wisdom tooth extraction"],
        ["next Tuesday", "at the clinic", "under local anaesthetic", "covered by insurance"],
    ),
    "chess": (
        ["I lost a chess game {x} {t}", "I studied {x} {t}", "My opponent played {x} {t}"],
        [
            "to a queen sacrifice",
            "the Sicilian defence",
            "a rook endgame",
            "an opening trap",
            "the king's gambit",
        ],
        ["online", "at the club", "with a clock", "against a grandmaster"],
    ),
}
KNOWN = ["cooking", "running", "photography", "car repair"]
UNSEEN = ["taxes", "dentist", "chess"]


def memories(count: int, subjects: list[str], seed: int) -> tuple[list[str], list[str]]:
    """`count` memories, the subjects taking turns: (texts, the subject of each)."""
    rng = random.Random(seed)
    texts, labels = [], []
    for number in range(count):
        subject = subjects[number % len(subjects)]
        templates, things, endings = SUBJECTS[subject]
        text = rng.choice(templates).format(x=rng.choice(things), t=rng.choice(endings))
        texts.append(text + ".")
        labels.append(subject)
    return texts, labels


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


@dataclass
class Fitted:
    fit: TopicFit
    texts: list[str]
    subjects: list[str]

    @property
    def model(self) -> FittedTopics:
        return self.fit.model

    def label_of(self, subject: str) -> str:
        """The label of the topic holding most of the subject's memories."""
        topics = Counter(t for t, s in zip(self.fit.assignments, self.subjects, strict=True) if s == subject)
        return self.model.topics[topics.most_common(1)[0][0]].label


@pytest.fixture(scope="module")
def embed() -> Callable[[list[str]], np.ndarray]:
    return get_embedder().embed_many


def needs_bertopic() -> None:
    """Fitting runs where requirements/topics.txt is installed; the base install skips it."""
    pytest.importorskip("bertopic", reason="requirements/topics.txt is not installed")


@pytest.fixture(scope="module")
def fitted(embed: Callable[[list[str]], np.ndarray]) -> Fitted:
    needs_bertopic()
    texts, subjects = memories(200, KNOWN, seed=0)
    fit = fit_topics(texts, embed(texts))
    assert isinstance(fit, TopicFit)
    return Fitted(fit, texts, subjects)


def in_store(operation: Callable[[TopicModelStore], Awaitable[T]]) -> T:
    async def run() -> T:
        async with fresh_async_redis("long_term") as client:
            return await operation(TopicModelStore(client))

    return asyncio.run(run())


def test_four_subjects_become_four_topics(fitted):
    assert len(fitted.model.topics) == 4
    assert adjusted_rand_score(fitted.subjects, fitted.fit.assignments) == 1.0
    assert sorted(topic.size for topic in fitted.model.topics) == [50, 50, 50, 50]
    assert fitted.model.fitted_count == 200 and fitted.model.dims == get_embedder().dims
    assert np.allclose(np.linalg.norm(fitted.model.centroids, axis=1), 1.0)
    assert fitted.model.centroids.dtype == np.float32


def test_labels_are_a_few_distinct_words_of_their_subject(fitted):
    labels = fitted.model.labels
    assert len(set(labels)) == len(labels)
    for subject in KNOWN:
        label = fitted.label_of(subject)
        parts = label.split(" / ")
        assert 2 <= len(parts) <= 3 and len(set(parts)) == len(parts), label
        assert all(part.isalpha() and part.islower() and part not in ENGLISH_STOP_WORDS for part in parts)
        own = set().union(
            *(words(t) for t, s in zip(fitted.texts, fitted.subjects, strict=True) if s == subject)
        )
        others = set().union(
            *(words(t) for t, s in zip(fitted.texts, fitted.subjects, strict=True) if s != subject)
        )
        assert set(parts) & (own - others), f"{label!r} names no word only {subject} memories use"


def test_new_memories_of_a_known_subject_get_its_topic_without_refitting(fitted, embed):
    texts, subjects = memories(80, KNOWN, seed=99)
    new = [(t, s) for t, s in zip(texts, subjects, strict=True) if t not in fitted.texts]
    assert len(new) >= 40
    assigned = assign_topics(fitted.model, embed([text for text, _ in new]))
    assert assigned == [fitted.label_of(subject) for _, subject in new]


def test_memories_of_an_unseen_subject_get_no_topic(fitted, embed):
    clearly_elsewhere = [
        "The dentist said I need a filling next Tuesday.",
        "We adopted a kitten from the shelter.",
        "I am learning Spanish verbs with flashcards.",
        "My insurance renewal letter arrived today.",
        "My opponent played the Sicilian defence and I lost the chess game.",
    ]
    assert assign_topics(fitted.model, embed(clearly_elsewhere)) == [None] * 5
    texts, _ = memories(60, UNSEEN, seed=7)
    assigned = assign_topics(fitted.model, embed(texts))
    assert assigned.count(None) >= 0.75 * len(texts)  # measured: 0.85-0.9 (see ASSIGN_FLOOR)


def test_too_few_memories_fit_nothing(embed):
    texts, _ = memories(MIN_MEMORIES - 1, KNOWN, seed=1)
    result = fit_topics(texts, embed(texts))
    assert result == TooFewMemories(MIN_MEMORIES - 1)
    assert result.message == "The namespace has 99 memories. Topics are fitted from 100 on."
    assert fit_topics([], []) == TooFewMemories(0)
    assert not needs_refit(None, MIN_MEMORIES - 1)


def test_a_namespace_is_refitted_once_it_has_grown_by_half(fitted):
    assert needs_refit(None, MIN_MEMORIES)
    assert not needs_refit(fitted.model, 299)
    assert needs_refit(fitted.model, 300)


def test_texts_and_vectors_must_pair_up(fitted):
    with pytest.raises(ValueError, match="Got 2 texts and 1 vectors"):
        fit_topics(["a", "b"], np.zeros((1, 4), dtype=np.float32))
    assert assign_topics(fitted.model, []) == []


def test_fitting_is_deterministic(fitted, embed):
    again = fit_topics(fitted.texts, embed(fitted.texts), now=fitted.model.fitted_at)
    assert isinstance(again, TopicFit)
    assert again.assignments == fitted.fit.assignments
    assert again.model.to_bytes() == fitted.model.to_bytes()


def test_a_model_round_trips_through_redis(fitted, embed, redis_client):
    namespace = "team a/b:c"
    assert in_store(lambda store: store.load(namespace)) is None
    in_store(lambda store: store.save(namespace, fitted.model))
    assert redis_client.keys("topic_model:*") == [b"topic_model:team%20a%2Fb%3Ac"]
    loaded = in_store(lambda store: store.load(namespace, fitted.model.dims))
    assert loaded is not None and loaded.to_bytes() == fitted.model.to_bytes()
    assert loaded.labels == fitted.model.labels and loaded.fitted_at == fitted.model.fitted_at
    vectors = embed(fitted.texts[:20])
    assert assign_topics(loaded, vectors) == assign_topics(fitted.model, vectors)
    assert in_store(lambda store: store.delete(namespace)) is True
    assert in_store(lambda store: store.delete(namespace)) is False
    assert redis_client.keys("topic_model:*") == []


def test_a_model_of_other_dimensions_is_refused(fitted, redis_client):
    dims = fitted.model.dims
    with pytest.raises(TopicModelMismatch, match=f"has {dims} dimensions. The embeddings have 768"):
        FittedTopics.from_bytes(fitted.model.to_bytes(), dims=768)
    with pytest.raises(
        TopicModelMismatch, match=f"The vectors have 16 dimensions. The topic model has {dims}"
    ):
        assign_topics(fitted.model, np.ones((1, 16), dtype=np.float32))
    with pytest.raises(TopicModelMismatch, match="unreadable"):
        FittedTopics.from_bytes(b'{"version": 1}')
    in_store(lambda store: store.save("ns", fitted.model))
    with pytest.raises(TopicModelMismatch, match="The embeddings have 768"):
        in_store(lambda store: store.load("ns", 768))
    in_store(lambda store: store.delete("ns"))


def test_without_bertopic_fitting_names_what_to_install(embed, monkeypatch):
    monkeypatch.setitem(sys.modules, "bertopic", None)  # as if requirements/topics.txt were not installed
    texts, _ = memories(MIN_MEMORIES, KNOWN, seed=2)
    with pytest.raises(FeatureDisabled, match=re.escape("pip install --no-deps -r requirements/topics.txt")):
        fit_topics(texts, embed(texts))


def test_two_thousand_memories_fit_in_seconds(embed):
    needs_bertopic()
    texts, subjects = memories(2000, KNOWN, seed=3)
    vectors = embed(texts)
    started = time.perf_counter()
    fit = fit_topics(texts, vectors)
    seconds = time.perf_counter() - started
    assert isinstance(fit, TopicFit)
    assert seconds < 5.0  # measured: 0.11 s warm, about 1 s when it first imports bertopic
    assert len(fit.model.topics) == 4 and adjusted_rand_score(subjects, fit.assignments) >= 0.99
