"""The coalescing thread: concurrent calls share one model call, and each caller gets its own fate."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from providers.embeddings.coalescing import MAX_TEXTS_PER_BATCH, Coalescer


def rows(texts: list[str]) -> np.ndarray:
    """A vector per text that depends only on the text, so misplaced rows show."""
    return np.array([[float(len(text)), float(sum(map(ord, text)))] for text in texts])


class HeldModel:
    """An embed function whose first call waits until released, so that later calls queue up."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.entered, self.release = threading.Event(), threading.Event()
        self.thread: threading.Thread | None = None

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        self.thread = threading.current_thread()
        if len(self.calls) == 1:
            self.entered.set()
            self.release.wait(10)
        if "poison" in texts:
            raise ValueError("cannot embed poison")
        return rows(texts)


@pytest.fixture
def model() -> HeldModel:
    return HeldModel()


@pytest.fixture
def coalescer(model: HeldModel) -> Iterator[Coalescer]:
    coalescer = Coalescer(model, "test")
    yield coalescer
    model.release.set()
    coalescer.close()


def queued_behind_a_held_call(
    coalescer: Coalescer, model: HeldModel, groups: list[list[str]], close: bool = False
) -> list[np.ndarray | BaseException]:
    """Hold the thread with one call, queue `groups` behind it (then close, if asked), release."""

    async def scenario() -> list[np.ndarray | BaseException]:
        held = asyncio.ensure_future(coalescer.embed(["held"]))
        assert await asyncio.to_thread(model.entered.wait, 5)
        waiting = [asyncio.ensure_future(coalescer.embed(texts)) for texts in groups]
        await asyncio.sleep(0)  # every task runs up to its await: all calls are queued
        if close:
            coalescer.close()
        model.release.set()
        np.testing.assert_array_equal(await held, rows(["held"]))
        return await asyncio.gather(*waiting, return_exceptions=True)

    return asyncio.run(scenario())


def test_calls_queued_meanwhile_share_one_model_call_and_each_gets_its_rows(coalescer, model):
    groups = [["tea"], ["coffee", "cake"], ["jam"], ["bread", "butter", "honey"]]
    results = queued_behind_a_held_call(coalescer, model, groups)
    assert model.calls == [["held"], [text for group in groups for text in group]]
    for group, vectors in zip(groups, results, strict=True):
        np.testing.assert_array_equal(vectors, rows(group))


def test_a_batch_stops_taking_calls_once_it_holds_the_maximum_number_of_texts(coalescer, model):
    groups = [[f"text {number}"] for number in range(MAX_TEXTS_PER_BATCH + 2)]
    results = queued_behind_a_held_call(coalescer, model, groups)
    assert [len(call) for call in model.calls] == [1, MAX_TEXTS_PER_BATCH, 2]
    np.testing.assert_array_equal(results[-1], rows(groups[-1]))


def test_a_bad_text_fails_only_its_own_caller_and_the_others_are_embedded_alone(coalescer, model):
    tea, poison, cake = queued_behind_a_held_call(coalescer, model, [["tea"], ["poison"], ["cake", "jam"]])
    assert isinstance(poison, ValueError) and str(poison) == "cannot embed poison"
    np.testing.assert_array_equal(tea, rows(["tea"]))
    np.testing.assert_array_equal(cake, rows(["cake", "jam"]))
    assert model.calls[1:] == [["tea", "poison", "cake", "jam"], ["tea"], ["poison"], ["cake", "jam"]]


def test_close_answers_the_calls_already_queued_then_ends_the_thread(coalescer, model):
    tea, jam = queued_behind_a_held_call(coalescer, model, [["tea"], ["jam"]], close=True)
    np.testing.assert_array_equal(np.concatenate([tea, jam]), rows(["tea", "jam"]))
    assert model.thread is not None
    model.thread.join(timeout=5)
    assert not model.thread.is_alive()


def test_a_caller_that_gave_up_does_not_stop_the_thread(coalescer, model):
    # The caller's event loop is closed before its answer comes; answering must not kill the thread.
    with pytest.raises(TimeoutError):
        asyncio.run(asyncio.wait_for(coalescer.embed(["impatient"]), timeout=0.05))
    assert model.entered.wait(5)
    model.release.set()
    vectors = asyncio.run(asyncio.wait_for(coalescer.embed(["patient"]), timeout=5))
    np.testing.assert_array_equal(vectors, rows(["patient"]))
    assert model.calls == [["impatient"], ["patient"]]
