"""The int8 build of all-MiniLM-L6-v2 against the packaged file it was built from."""

from __future__ import annotations

import numpy as np
import pytest

from providers.embeddings.local import (
    MINILM,
    LocalOnnxEmbedder,
    _embed_run,
    _Runtime,
    minilm_package_files,
)
from tests.memoryserver.test_e5_model import TEXTS

SAMPLE = [
    *TEXTS,
    "Alice prefers dark roast coffee and drinks it black every morning before work.",
    "The quarterly tax report is due in April; Bob is collecting the receipts.",
    "user: can you remind me what restaurant we picked for Friday? assistant: Sakura, at 7pm.",
    " ".join(["a much longer memory about gardening, tomatoes and the weather in spring"] * 12),
]


@pytest.fixture(scope="module")
def packaged() -> _Runtime:
    import onnxruntime
    from tokenizers import Tokenizer

    files = minilm_package_files()
    tokenizer = Tokenizer.from_file(str(files.tokenizer))
    tokenizer.enable_truncation(max_length=MINILM.max_tokens)
    tokenizer.no_padding()
    session = onnxruntime.InferenceSession(str(files.model), providers=["CPUExecutionProvider"])
    return _Runtime(MINILM, tokenizer, session, None)


def reference(runtime: _Runtime, texts: list[str]) -> np.ndarray:
    vectors = np.stack([_embed_run(runtime, [runtime.tokenizer.encode(text)])[0] for text in texts])
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_the_int8_build_agrees_with_the_packaged_model(packaged):
    embedder = LocalOnnxEmbedder(MINILM.name)
    cosines = (embedder.embed_many(SAMPLE) * reference(packaged, SAMPLE)).sum(axis=1)
    # int8 activations cost the most on the shortest texts ("x": 0.986).
    assert cosines.mean() >= 0.99 and cosines.min() >= 0.98, cosines.round(4)
    embedder.close()


def test_the_build_is_a_different_file_from_the_package(packaged):
    built = MINILM.files().model
    assert built != minilm_package_files().model and built.name == "model.onnx"
    assert built.parent.name.startswith("all-MiniLM-L6-v2-int8-")
