"""The Embedder template: prefixes, length sorting, normalisation and where async calls run.

The provider is one written for the test: its vectors count letters, so every row can be checked.
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from providers.embeddings.base import COALESCE_MAX_TEXTS, Embedder


def letters(text: str) -> list[float]:
    return [float(text.count("a")), float(text.count("e")), float(len(text))]


class Letters(Embedder):
    """Counts letters; records each batch and the thread that embedded it."""

    provider = "letters"

    def __init__(self, batch_size: int = 2) -> None:
        super().__init__("letters-v1", batch_size)
        self.batches: list[list[str]] = []
        self.threads: list[threading.Thread] = []

    @property
    def dims(self) -> int:
        return 3

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        self.batches.append(texts)
        self.threads.append(threading.current_thread())
        return np.array([letters(text) for text in texts])


class SortedLetters(Letters):
    sort_by_length = True


def unit(rows: list[list[float]]) -> np.ndarray:
    vectors = np.array(rows)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_batch_size_below_one_is_refused_with_its_value():
    with pytest.raises(ValueError, match=r"^batch_size has value 0\. It must be at least 1\.$"):
        Letters(batch_size=0)


def test_sorted_providers_get_batches_of_similar_length_and_rows_come_back_in_input_order():
    embedder = SortedLetters(batch_size=2)
    texts = ["banana bread", "a", "eagle", "tea", "a beehive maze"]
    vectors = embedder.embed_many(texts)
    assert embedder.batches == [["a", "tea"], ["eagle", "banana bread"], ["a beehive maze"]]
    np.testing.assert_allclose(vectors, unit([letters(text) for text in texts]), rtol=1e-6)


def test_queries_and_passages_get_their_own_prefix_before_the_model_sees_them():
    embedder = Letters()
    embedder.query_prefix, embedder.passage_prefix = "query: ", "passage: "
    query, passage = embedder.embed("tea", kind="query"), embedder.embed("tea")
    assert embedder.batches == [["query: tea"], ["passage: tea"]]
    np.testing.assert_allclose(query, unit([letters("query: tea")])[0], rtol=1e-6)
    assert not np.allclose(query, passage)
    asyncio.run(embedder.aembed_query("  more   tea "))
    assert embedder.batches[-1] == ["query: more tea"]
    embedder.close()


def test_small_async_calls_run_on_the_coalescing_thread_and_large_ones_beside_it():
    embedder = Letters(batch_size=COALESCE_MAX_TEXTS + 1)
    small = asyncio.run(embedder.aembed_many(["tea"] * COALESCE_MAX_TEXTS))
    large = asyncio.run(embedder.aembed_many(["tea"] * (COALESCE_MAX_TEXTS + 1)))
    coalescing, beside = embedder.threads
    assert coalescing.name == "embed-letters" and beside is not coalescing
    assert small.shape == (COALESCE_MAX_TEXTS, 3) and large.shape == (COALESCE_MAX_TEXTS + 1, 3)
    embedder.close()
