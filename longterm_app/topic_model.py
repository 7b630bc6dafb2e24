"""Topics of one namespace's memories: BERTopic fitted on the server's own embeddings.

Fitting (`fit_topics`, in the worker) runs BERTopic on the vectors already stored, so no
embedding model is loaded or downloaded, with PCA(20) + KMeans in place of UMAP + HDBSCAN:
deterministic, no numba, about 0.1 s for 2,000 memories. It runs single-threaded
(threadpoolctl): on matrices this small OpenMP threads cost more than they save; on 2 cores
they made the same fit take 0.3-0.8 s, and 2-7 s while other processes kept the cores
busy. BERTopic's c-TF-IDF names each topic by the words that set it apart
("cooked / dinner / recipe").

- Too few memories: under MIN_MEMORIES nothing is fitted (`TooFewMemories`); topics of a
  handful of memories are noise.
- Number of topics: KMeans for k = 2..min(12, n // 15) on a sample of 600 memories in 20
  principal components; the k of best cosine silhouette in the 5 leading components wins.
  On 102 synthetic namespaces (2-8 subjects, 100-2,000 memories, both local models) it was
  exact 96 times and off by one otherwise (8 subjects seen as 7, 5 as 6). The silhouette
  of the full vectors was exact 95 times but split 2- and 3-subject namespaces into 12
  topics by phrasing; Calinski-Harabasz and Davies-Bouldin did worse.
- Refit: once the namespace has grown by half since the last fit (`needs_refit`).

Assigning (`assign_topics`) needs numpy only: the nearest centroid by cosine, after the
namespace's mean vector (stored with the model) is subtracted. Centring matters: e5 puts
nearly every pair of texts at cosine 0.75-0.95, so a memory of an unseen subject is as
close to a raw centroid as one of a known subject; centred, both local models spread
alike. ASSIGN_FLOOR comes from data: with models fitted on 4 or 8 templated subjects (those
of tests/longterm_app/test_topic_model.py and 4 more), at 0.20 none of 120 new memories
of known subjects got None, and 82-88 % of 120 memories on 6 unseen subjects did
(telescopes pass as photography, knitting as cooking), with both local models; at 0.25
up to 3 % of the known ones lost their topic.

A model is stored as one JSON document (`FittedTopics.to_bytes`), vectors as base64 float32.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from memoryserver.errors import Conflict, FeatureDisabled

Vectors = npt.NDArray[np.float32]

MIN_MEMORIES = 100
REFIT_GROWTH = 1.5  # refit once the namespace holds 50 % more memories than at the last fit
MAX_TOPICS = 12
MEMORIES_PER_TOPIC = 15  # at most n // 15 topics
SCAN_SAMPLE = 600  # memories the choice of k looks at
REDUCED_DIMS = 20
SCORE_DIMS = 5  # leading components the silhouette is measured in: the coarse structure
ASSIGN_FLOOR = 0.20  # centred cosine under which a memory has no topic
KEYWORDS = 10
LABEL_WORDS = 3
FORMAT_VERSION = 1
SEED = 0
TOPICS_INSTALL_HINT = "install it with `pip install --no-deps -r requirements/topics.txt`"


class TopicModelMismatch(Conflict):
    """A stored topic model that cannot serve these vectors (other dimensions, unreadable): refit."""


@dataclass(frozen=True)
class Topic:
    label: str
    keywords: tuple[str, ...]
    size: int  # memories in the topic when it was fitted


@dataclass(frozen=True, eq=False)
class FittedTopics:
    """What assigning needs: one centred unit centroid per topic, and the mean it is centred on."""

    topics: tuple[Topic, ...]
    centroids: Vectors  # (topics, dims), unit rows, float32
    center: Vectors  # (dims,): the mean of the fitted vectors
    fitted_count: int
    fitted_at: float  # Unix seconds
    floor: float = ASSIGN_FLOOR

    @property
    def dims(self) -> int:
        return int(self.centroids.shape[1])

    @property
    def labels(self) -> list[str]:
        return [topic.label for topic in self.topics]

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "version": FORMAT_VERSION,
                "dims": self.dims,
                "fitted_count": self.fitted_count,
                "fitted_at": self.fitted_at,
                "floor": self.floor,
                "topics": [
                    {"label": t.label, "keywords": list(t.keywords), "size": t.size} for t in self.topics
                ],
                "centroids": _encode(self.centroids),
                "center": _encode(self.center),
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes | str, dims: int | None = None) -> FittedTopics:
        """The model `to_bytes` wrote; TopicModelMismatch if unreadable or not of `dims` dimensions."""
        try:
            raw = orjson.loads(data)
            model = cls._from_dict(raw)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise TopicModelMismatch(f"The stored topic model is unreadable ({error}). Refit it.") from None
        if dims is not None and model.dims != dims:
            raise TopicModelMismatch(
                f"The stored topic model has {model.dims} dimensions. The embeddings have {dims}; refit it."
            )
        return model

    @classmethod
    def _from_dict(cls, raw: dict[str, Any]) -> FittedTopics:
        if raw["version"] != FORMAT_VERSION:
            raise ValueError(f"format version {raw['version']!r}, expected {FORMAT_VERSION}")
        dims = int(raw["dims"])
        topics = tuple(Topic(t["label"], tuple(t["keywords"]), int(t["size"])) for t in raw["topics"])
        centroids = _decode(raw["centroids"]).reshape(len(topics), dims)
        center = _decode(raw["center"]).reshape(dims)
        counts = int(raw["fitted_count"]), float(raw["fitted_at"]), float(raw["floor"])
        return cls(topics, centroids, center, *counts)


@dataclass(frozen=True)
class TopicFit:
    model: FittedTopics
    assignments: tuple[int, ...]  # each input's topic: an index into model.topics


@dataclass(frozen=True)
class TooFewMemories:
    """No model: topics need at least `needed` memories."""

    count: int
    needed: int = MIN_MEMORIES

    @property
    def message(self) -> str:
        return f"The namespace has {self.count} memories. Topics are fitted from {self.needed} on."


def needs_refit(model: FittedTopics | None, count: int) -> bool:
    """Whether a namespace of `count` memories should be (re)fitted, given its current model."""
    if count < MIN_MEMORIES:
        return False
    return model is None or count >= model.fitted_count * REFIT_GROWTH


def fit_topics(
    texts: Sequence[str], vectors: npt.ArrayLike, now: float | None = None
) -> TopicFit | TooFewMemories:
    """Fit topics on a namespace's memories (texts with their unit vectors, in the same order)."""
    matrix = _matrix(vectors)
    if len(texts) != len(matrix):
        raise ValueError(f"Got {len(texts)} texts and {len(matrix)} vectors. Give one vector per text.")
    if len(texts) < MIN_MEMORIES:
        return TooFewMemories(len(texts))
    bertopic = _bertopic_class()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        assignments, keywords = _bertopic(bertopic, list(texts), matrix, choose_k(matrix))
    center = matrix.mean(axis=0)
    members = [matrix[assignments == topic] for topic in range(len(keywords))]
    centroids = _unit(np.stack([(rows - center).mean(axis=0) for rows in members]))
    labels = _labels(keywords)
    topics = tuple(Topic(labels[t], tuple(keywords[t]), len(members[t])) for t in range(len(keywords)))
    fitted_at = time.time() if now is None else now
    model = FittedTopics(topics, centroids, center.astype(np.float32), len(texts), fitted_at)
    return TopicFit(model, tuple(int(topic) for topic in assignments))


def assign_topics(model: FittedTopics, vectors: npt.ArrayLike) -> list[str | None]:
    """Each vector's topic label: the nearest centroid's, None when none is within the model's floor."""
    matrix = _matrix(vectors)
    if not len(matrix):
        return []
    if matrix.shape[1] != model.dims:
        raise TopicModelMismatch(
            f"The vectors have {matrix.shape[1]} dimensions. The topic model has {model.dims}; refit it."
        )
    similarities = _unit(matrix - model.center) @ model.centroids.T
    best = similarities.argmax(axis=1)
    labels = model.labels
    return [labels[t] if similarities[i, t] >= model.floor else None for i, t in enumerate(best)]


def choose_k(vectors: Vectors) -> int:
    """The number of topics of best silhouette, from 2 to min(MAX_TOPICS, n // MEMORIES_PER_TOPIC)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    top = max(2, min(MAX_TOPICS, len(vectors) // MEMORIES_PER_TOPIC))
    rows = np.random.default_rng(SEED).choice(
        len(vectors), size=min(SCAN_SAMPLE, len(vectors)), replace=False
    )
    sample = vectors[np.sort(rows)]
    reduced = _pca(sample).fit_transform(sample)
    scores = {}
    for k in range(2, top + 1):
        labels = KMeans(n_clusters=k, n_init=3, random_state=SEED).fit_predict(reduced)
        scores[k] = float(silhouette_score(reduced[:, :SCORE_DIMS], labels, metric="cosine"))
    return max(scores, key=lambda k: scores[k])  # the first, so the smallest k, of equal scores


def _bertopic_class() -> Any:
    try:
        from bertopic import BERTopic
    except ImportError as error:
        raise FeatureDisabled(f"Topic modelling needs bertopic ({error}): {TOPICS_INSTALL_HINT}") from None
    return BERTopic


def _bertopic(
    bertopic: Any, texts: list[str], vectors: Vectors, k: int
) -> tuple[npt.NDArray[np.int64], list[list[str]]]:
    """Each text's topic (0..k-1, largest first) and each topic's c-TF-IDF keywords, best first."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import CountVectorizer

    model = bertopic(
        embedding_model=None,
        umap_model=_pca(vectors),
        hdbscan_model=KMeans(n_clusters=k, n_init=10, random_state=SEED),
        # min_df stays 1: c-TF-IDF counts words in one joined document per topic.
        vectorizer_model=CountVectorizer(stop_words="english"),
        top_n_words=KEYWORDS,
    )
    assignments, _ = model.fit_transform(texts, embeddings=vectors)
    keywords = [[word for word, _ in model.get_topic(t) or [] if word] for t in range(k)]
    return np.asarray(assignments, dtype=np.int64), keywords


def _pca(vectors: Vectors) -> Any:
    from sklearn.decomposition import PCA

    return PCA(n_components=min(REDUCED_DIMS, len(vectors) - 1, vectors.shape[1]), random_state=SEED)


def _labels(keywords: list[list[str]]) -> list[str]:
    """A short distinct label per topic: its first LABEL_WORDS keywords without digits or near repeats."""
    labels: list[str] = []
    for number, words in enumerate(keywords):
        chosen: list[str] = []
        for word in words:
            if not any(c.isdigit() for c in word) and not any(_similar(word, other) for other in chosen):
                chosen.append(word)
        label = " / ".join(chosen[:LABEL_WORDS]) or f"topic {number + 1}"
        labels.append(label if label not in labels else f"{label} ({number + 1})")
    return labels


def _similar(word: str, other: str) -> bool:
    """One word a form of the other: "photo" and "photos", "cooked" and "cooking"."""
    shorter = min(len(word), len(other))
    return word.startswith(other) or other.startswith(word) or (shorter >= 5 and word[:5] == other[:5])


def _matrix(vectors: npt.ArrayLike) -> Vectors:
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.size == 0 and matrix.ndim == 1:  # an empty list
        matrix = matrix.reshape(0, 0)
    if matrix.ndim != 2 or not np.isfinite(matrix).all():
        raise ValueError(f"Vectors of shape {matrix.shape}: expected (n, dims) of finite numbers.")
    return matrix


def _unit(matrix: Vectors) -> Vectors:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


def _encode(array: Vectors) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode()


def _decode(text: str) -> Vectors:
    return np.frombuffer(base64.b64decode(text, validate=True), dtype="<f4").astype(np.float32)
