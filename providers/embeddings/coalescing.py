"""Coalescing of concurrent small embedding calls into one batched model call.

Under load, many requests each embed one query. Run one by one in parallel threads they
fight over the cores (the local model already uses them all) and every call pays the
model's fixed cost. Here they wait in a queue for one thread that embeds everything
queued at that moment in a single batch: fewer, larger calls, no oversubscription. With
no concurrency a call simply runs alone, at no extra cost beyond a thread hand-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MAX_TEXTS_PER_BATCH = 128


@dataclass
class _Call:
    texts: list[str]
    future: asyncio.Future[np.ndarray]
    loop: asyncio.AbstractEventLoop


def _settle(future: asyncio.Future[np.ndarray], result: np.ndarray | BaseException) -> None:
    if future.done():  # the caller went away (cancelled)
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


class Coalescer:
    """One background thread running `embed_many` over whatever calls are waiting."""

    def __init__(self, embed_many: Callable[[list[str]], np.ndarray], name: str) -> None:
        self._embed_many = embed_many
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self.pid = os.getpid()  # threads do not survive a fork: a child needs its own
        self._thread = threading.Thread(target=self._run, name=f"embed-{name}", daemon=True)
        self._thread.start()

    async def embed(self, texts: list[str]) -> np.ndarray:
        loop = asyncio.get_running_loop()
        call = _Call(texts, loop.create_future(), loop)
        self._calls.put(call)
        return await call.future

    def close(self) -> None:
        self._calls.put(None)

    def _take_batch(self, first: _Call) -> tuple[list[_Call], bool]:
        batch, count = [first], len(first.texts)
        while count < MAX_TEXTS_PER_BATCH:
            try:
                call = self._calls.get_nowait()
            except queue.Empty:
                break
            if call is None:
                return batch, True
            batch.append(call)
            count += len(call.texts)
        return batch, False

    def _alone(self, call: _Call) -> np.ndarray | BaseException:
        try:
            return self._embed_many(call.texts)
        except BaseException as error:
            return error

    @staticmethod
    def _answer(call: _Call, result: np.ndarray | BaseException) -> None:
        # A caller whose event loop has closed is no longer waiting.
        with contextlib.suppress(RuntimeError):
            call.loop.call_soon_threadsafe(_settle, call.future, result)

    def _run(self) -> None:
        while (first := self._calls.get()) is not None:
            batch, closing = self._take_batch(first)
            try:
                vectors = self._embed_many([t for c in batch for t in c.texts])
            except BaseException as error:
                # One caller's bad input must not fail the others: each alone learns its own fate.
                for call in batch:
                    self._answer(call, self._alone(call) if len(batch) > 1 else error)
            else:
                offset = 0
                for call in batch:
                    self._answer(call, vectors[offset : offset + len(call.texts)])
                    offset += len(call.texts)
            if closing:
                return
