"""The local ONNX embedder's own rules: runs within a token budget, padding, pooling, loading."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memoryserver.errors import FeatureDisabled
from providers.embeddings.local import (
    INSTALL_HINT,
    MINILM,
    LocalOnnxEmbedder,
    _embed_run,
    _package_dir,
    _padded,
    _Runtime,
    _runtime,
    minilm_package_files,
    token_bounded_runs,
)

ROOT = Path(__file__).resolve().parents[3]
TEXTS = [
    "A much longer memory about the garden: tomatoes, basil and the weather in a wet spring.",
    "tea",
    "Alice drinks dark roast coffee every morning.",
    "",
    "Bob fixed the bike.",
]


@pytest.fixture(scope="module")
def packaged() -> _Runtime:
    """The packaged all-MiniLM-L6-v2, which computes in float32: its vectors do not depend on
    batch-mates (unlike the dynamically quantised build the embedder runs)."""
    import onnxruntime
    from tokenizers import Tokenizer

    files = minilm_package_files()
    tokenizer = Tokenizer.from_file(str(files.tokenizer))
    tokenizer.enable_truncation(max_length=MINILM.max_tokens)
    tokenizer.no_padding()
    session = onnxruntime.InferenceSession(str(files.model), providers=["CPUExecutionProvider"])
    return _Runtime(MINILM, tokenizer, session, None)


def encodings(runtime: _Runtime, texts: list[str]) -> list[Any]:
    return list(runtime.tokenizer.encode_batch(texts))


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_budget_of_zero_gives_every_text_a_run_of_its_own_shortest_first():
    assert token_bounded_runs([3, 1, 2], 0) == [[1], [2], [0]]


def test_padded_rows_keep_each_encoding_and_are_right_padded_with_zeros(packaged: _Runtime):
    batch = encodings(packaged, TEXTS)
    ids, mask = _padded(batch, "ids"), _padded(batch, "attention_mask")
    longest = max(len(encoding.ids) for encoding in batch)
    assert ids.dtype == np.int64 and ids.shape == (len(TEXTS), longest) == mask.shape
    for row, encoding in enumerate(batch):
        size = len(encoding.ids)
        assert ids[row, :size].tolist() == encoding.ids and not ids[row, size:].any()
        assert mask[row].sum() == size and mask[row, :size].all()


def test_padding_a_text_to_its_batch_mates_length_does_not_change_its_vector(packaged: _Runtime):
    batch = encodings(packaged, TEXTS)
    together = _embed_run(packaged, batch)
    alone = np.concatenate([_embed_run(packaged, [encoding]) for encoding in batch])
    np.testing.assert_allclose(together, alone, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2], ids=["runs-in-turn", "runs-side-by-side"])
def test_the_embedder_returns_mean_pooled_vectors_normalised_in_input_order(threads: int):
    embedder = LocalOnnxEmbedder(MINILM.name, batch_size=2, threads=threads)
    runtime = _runtime(MINILM, 1)
    pooled = np.concatenate([_embed_run(runtime, [encoding]) for encoding in encodings(runtime, TEXTS)])
    vectors = embedder.embed_many(TEXTS)
    assert not np.allclose(np.linalg.norm(pooled, axis=1), 1.0)  # the model's output is not unit length
    np.testing.assert_allclose(vectors, unit(pooled), atol=1e-5)
    embedder.close()


def test_runs_side_by_side_reuse_the_same_threads_batch_after_batch():
    embedder = LocalOnnxEmbedder(MINILM.name, threads=2)
    embedder.embed_many(TEXTS)
    kept = {thread.ident for thread in threading.enumerate() if thread.name.startswith("embed-run")}
    assert kept  # started once, still there between batches
    for _ in range(3):
        embedder.embed_many(TEXTS)
    assert {thread.ident for thread in threading.enumerate() if thread.name.startswith("embed-run")} == kept
    embedder.close()


def test_a_missing_package_is_named_with_the_command_that_installs_it():
    with pytest.raises(FeatureDisabled) as caught:
        _package_dir("no_such_embedding_package")
    assert str(caught.value) == (
        "The local embedding model needs the package 'no_such_embedding_package', "
        f"which is not installed: {INSTALL_HINT}"
    )
    # The hint names a requirements file that exists.
    assert (ROOT / INSTALL_HINT.split()[-1]).is_file()
