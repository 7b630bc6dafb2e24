from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import openai
import pytest
from pydantic import SecretStr

from memoryserver.config import ConfigError
from memoryserver.errors import BackendUnavailable, FeatureDisabled
from providers.embeddings import Embedder, EmbeddingMismatch, get_embedder, reset_embedders
from providers.embeddings.local import LocalOnnxEmbedder
from providers.embeddings.openai import OpenAIEmbedder, retry_after_seconds
from server.localredis import free_port
from tests.fake_openai import Reply, bag_of_words, fake_openai  # noqa: F401
from tests.helpers import documented_embedding_settings

API_KEY = "sk-test-0123456789abcdef"
EMBEDDINGS = "/v1/embeddings"
WORDS = ["memory", "agent", "redis", "vector", "search", "session", "summary", "context", "model", "user"]


def sentences(count: int, seed: int = 7) -> list[str]:
    """Distinct sentences of 1 to 60 words, in no particular length order."""
    rng = random.Random(seed)
    return [f"text {i} " + " ".join(rng.choices(WORDS, k=rng.randint(0, 60))) for i in range(count)]


@pytest.fixture(autouse=True)
def embedding_settings(settings):
    """Start every test from the documented defaults, whatever the environment says."""
    yield from documented_embedding_settings(settings)


LOCAL_MODELS = ["multilingual-e5-small", "all-MiniLM-L6-v2"]


@pytest.fixture(scope="module", params=LOCAL_MODELS)
def local(request) -> LocalOnnxEmbedder:
    return LocalOnnxEmbedder(request.param)


@pytest.fixture
def make_openai(fake_openai):  # noqa: F811
    """Build OpenAIEmbedders on the fake server; each is closed after the test."""
    made: list[OpenAIEmbedder] = []

    def make(model: str = "fake-embed", **options) -> OpenAIEmbedder:
        options.setdefault("api_key", API_KEY)
        embedder = OpenAIEmbedder(model, base_url=fake_openai.openai_base_url, **options)
        made.append(embedder)
        return embedder

    yield make
    for embedder in made:
        embedder.close()


class Recorder(Embedder):
    """A provider that returns what it is told to and records every batch."""

    provider = "test"

    def __init__(self, dims: int = 3, batch_size: int = 2, answer=None) -> None:
        super().__init__("recorder", batch_size)
        self._dims = dims
        self.batches: list[list[str]] = []
        self.answer = answer or (lambda texts: np.array([[len(t) + 1.0] * self._dims for t in texts]))

    @property
    def dims(self) -> int:
        return self._dims

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        self.batches.append(texts)
        return self.answer(texts)


# The interface, with a recording provider.


def test_texts_are_batched_in_order_and_rows_normalised():
    embedder = Recorder(dims=3, batch_size=2)
    vectors = embedder.embed_many(["a", "bb", "ccc", "dddd", "e"])
    assert embedder.batches == [["a", "bb"], ["ccc", "dddd"], ["e"]]
    assert vectors.dtype == np.float32 and vectors.shape == (5, 3)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)


def test_empty_input_never_calls_the_model():
    embedder = Recorder(dims=3)
    assert embedder.embed_many([]).shape == (0, 3)
    assert embedder.batches == []


def test_wrong_dimensions_name_the_model_and_both_sizes():
    embedder = Recorder(dims=3, answer=lambda texts: np.ones((len(texts), 5)))
    with pytest.raises(EmbeddingMismatch, match=r"'recorder' returned 5-dimensional vectors; expected 3"):
        embedder.embed_many(["x"])


def test_wrong_vector_count_and_non_finite_values_are_refused():
    with pytest.raises(EmbeddingMismatch, match=r"shape \(1, 3\) for 2 texts"):
        Recorder(answer=lambda texts: np.ones((1, 3))).embed_many(["x", "y"])
    with pytest.raises(EmbeddingMismatch, match="non-finite"):
        Recorder(answer=lambda texts: np.full((len(texts), 3), np.nan)).embed_many(["x"])


def test_non_text_input_is_refused():
    with pytest.raises(TypeError, match=r"texts\[1\] is a int"):
        Recorder().embed_many(["x", 3])  # type: ignore[list-item]


def test_async_embedding_gives_the_same_vectors():
    embedder = Recorder()
    expected = embedder.embed_many(["one", "three"])
    np.testing.assert_array_equal(asyncio.run(embedder.aembed_many(["one", "three"])), expected)
    np.testing.assert_array_equal(asyncio.run(embedder.aembed("one")), expected[0])


# The local model.


def test_local_model_gives_384_dimensional_unit_vectors(local):
    vectors = local.embed_many(["hello world", "", "a much longer sentence " * 100])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert local.embed("hello").shape == (384,)
    assert local.identity == f"local:{local.model}:384"


# Each model spreads cosine similarity its own way: e5 keeps even unrelated texts above 0.7.
UNRELATED_BELOW = {"multilingual-e5-small": 0.8, "all-MiniLM-L6-v2": 0.2}
MARGIN = {"multilingual-e5-small": 0.1, "all-MiniLM-L6-v2": 0.3}


def test_similar_sentences_are_closer_than_unrelated_ones(local):
    cat, kitten, revenue = local.embed_many(
        ["The cat sits on the mat", "A kitten is sitting on a rug", "Quarterly revenue grew 12%"]
    )
    assert cat @ kitten > 0.5
    assert cat @ kitten > cat @ revenue + MARGIN[local.model]
    assert kitten @ revenue < UNRELATED_BELOW[local.model]


def test_paraphrases_fall_within_the_models_near_duplicate_distance(local):
    same, reworded, other = local.embed_many(
        ["The user is allergic to peanuts", "The user has a peanut allergy", "The user's cat is named Smokey"]
    )
    assert 1 - same @ reworded < local.near_duplicate_distance < 1 - same @ other


@pytest.mark.parametrize("model", LOCAL_MODELS)
def test_order_survives_length_sorting_and_batches(model):
    texts = sentences(23)
    embedder = LocalOnnxEmbedder(model, batch_size=4)
    together = embedder.embed_many(texts)
    alone = np.stack([embedder.embed(text) for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-4)


def test_local_embedding_is_deterministic(local):
    texts = sentences(10)
    np.testing.assert_array_equal(local.embed_many(texts), local.embed_many(texts))
    again = LocalOnnxEmbedder(local.model, batch_size=3).embed_many(texts)
    np.testing.assert_array_equal(local.embed_many(texts), again)


def test_local_empty_input(local):
    assert local.embed_many([]).shape == (0, 384)


def test_embedding_from_many_threads_at_once_gives_the_same_vectors(local):
    texts = sentences(16, seed=3)
    expected = local.embed_many(texts)
    # A fresh thread count: the threads also race to load its session on first use.
    embedder = LocalOnnxEmbedder(local.model, batch_size=8, threads=1)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda shift: embedder.embed_many(texts[shift:] + texts[:shift]), range(6)))
    for shift, vectors in enumerate(results):
        np.testing.assert_allclose(np.roll(vectors, shift, axis=0), expected, atol=1e-4)


def test_local_embedder_runs_only_its_models():
    with pytest.raises(FeatureDisabled, match="-L6-v2; EMBEDDING_MODEL is 'bge-small'"):
        LocalOnnxEmbedder("bge-small")
    assert LocalOnnxEmbedder("sentence-transformers/all-MiniLM-L6-v2").model == "all-MiniLM-L6-v2"


# The OpenAI-compatible API, against the fake server.


def test_one_api_call_per_batch_in_order(make_openai, fake_openai):  # noqa: F811
    texts = sentences(150)
    vectors = make_openai(batch_size=64).embed_many(texts)
    bodies = fake_openai.bodies(EMBEDDINGS)
    assert [len(body["input"]) for body in bodies] == [64, 64, 22]
    assert [text for body in bodies for text in body["input"]] == texts
    expected = np.array([bag_of_words(text, 128) for text in texts], dtype=np.float32)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert {body["model"] for body in bodies} == {"fake-embed"}


def test_dimensions_of_an_unknown_model_are_discovered_once(make_openai, fake_openai):  # noqa: F811
    embedder = make_openai("nomic-embed-text")
    assert embedder.dims == 128
    assert embedder.identity == "openai:nomic-embed-text:128"
    assert len(fake_openai.bodies(EMBEDDINGS)) == 1
    assert embedder.embed_many(["a", "b"]).shape == (2, 128)
    assert len(fake_openai.bodies(EMBEDDINGS)) == 2


def test_the_first_batch_tells_the_dimensions_without_a_probe(make_openai, fake_openai):  # noqa: F811
    embedder = make_openai("nomic-embed-text")
    assert embedder.embed_many(["x", "y"]).shape == (2, 128)
    assert embedder.dims == 128
    assert len(fake_openai.bodies(EMBEDDINGS)) == 1


def test_requested_dimensions_are_passed_through(make_openai, fake_openai):  # noqa: F811
    embedder = make_openai("text-embedding-3-large", dimensions=32)
    assert embedder.dims == 32 and fake_openai.bodies(EMBEDDINGS) == []
    assert embedder.embed_many(["some text"]).shape == (1, 32)
    (body,) = fake_openai.bodies(EMBEDDINGS)
    assert body["dimensions"] == 32


def test_known_models_need_no_probe_and_wrong_dimensions_are_reported(make_openai, fake_openai):  # noqa: F811
    embedder = make_openai("text-embedding-3-small")
    assert embedder.identity == "openai:text-embedding-3-small:1536"
    assert embedder.embed_many([]).shape == (0, 1536)
    assert fake_openai.bodies(EMBEDDINGS) == []
    message = "'text-embedding-3-small' returned 128-dimensional vectors; expected 1536 dimensions"
    with pytest.raises(EmbeddingMismatch, match=message):
        embedder.embed("the server answers 128 dimensions")


def answer(*vectors: list[float]) -> Reply:
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    return Reply.raw(
        {"object": "list", "data": data, "model": "m", "usage": {"prompt_tokens": 1, "total_tokens": 1}}
    )


def test_malformed_answers_are_reported(make_openai, fake_openai):  # noqa: F811
    fake_openai.push(answer(), answer([1.0, 0.0], [1.0]), answer([1.0]), route="embeddings")
    with pytest.raises(EmbeddingMismatch, match=r"answered a probe text with an array of shape \(0,\)"):
        assert make_openai("unknown-model").dims
    with pytest.raises(EmbeddingMismatch, match="vectors of unequal length"):
        make_openai("unknown-model").embed_many(["a", "b"])
    with pytest.raises(EmbeddingMismatch, match=r"shape \(1, 1\) for 2 texts"):
        make_openai("unknown-model").embed_many(["a", "b"])


@pytest.mark.parametrize(("status", "wording"), [(500, "answered 500"), (429, "rate-limiting")])
def test_server_errors_are_retried_then_reported_without_the_key(make_openai, fake_openai, status, wording):  # noqa: F811
    fake_openai.push(*[Reply.error(status, "try later")] * 3, route="embeddings")
    with pytest.raises(BackendUnavailable, match=wording) as caught:
        make_openai().embed("hello")
    assert len(fake_openai.bodies(EMBEDDINGS)) == 3  # the first try and two retries
    assert API_KEY not in str(caught.value) and fake_openai.pending("embeddings") == 0
    # The rate limit's wait (the fake's retry-after-ms: 1) becomes a whole second.
    assert caught.value.retry_after == (1 if status == 429 else None)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "1"}, 1),
        ({"retry-after-ms": "2500", "retry-after": "9"}, 3),
        ({"retry-after": "20"}, 20),
        ({"retry-after": "0"}, 1),
        ({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, None),
        ({"retry-after-ms": "soon", "retry-after": "4"}, 4),
        ({"retry-after": "-3"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "1e9"}, 3600),
        ({}, None),
    ],
)
def test_the_wait_a_rate_limit_asks_for_in_whole_seconds(headers, seconds):
    assert retry_after_seconds(headers) == seconds


def test_a_transient_error_is_retried_transparently(make_openai, fake_openai):  # noqa: F811
    fake_openai.push(Reply.error(503), route="embeddings")
    assert make_openai().embed("hello").shape == (128,)
    assert len(fake_openai.bodies(EMBEDDINGS)) == 2


def test_refused_credentials_are_reported_without_the_key(make_openai, fake_openai):  # noqa: F811
    fake_openai.push(Reply.error(401, f"Incorrect API key provided: {API_KEY}"), route="embeddings")
    with pytest.raises(BackendUnavailable, match=r"^embedding API refused the credentials$"):
        make_openai().embed("hello")
    assert len(fake_openai.bodies(EMBEDDINGS)) == 1


def test_other_api_errors_show_the_server_message_without_the_key(make_openai, fake_openai):  # noqa: F811
    fake_openai.push(Reply.error(400, f"model not allowed for key {API_KEY}"), route="embeddings")
    with pytest.raises(BackendUnavailable, match=r"answered 400: model not allowed for key \*\*\*") as caught:
        make_openai().embed("hello")
    assert API_KEY not in str(caught.value)


def test_a_slow_server_times_out(make_openai, fake_openai):  # noqa: F811
    fake_openai.push(Reply.slow(5), route="embeddings")
    with pytest.raises(BackendUnavailable, match=r"did not answer within 0.2 s"):
        make_openai(timeout=0.2, max_retries=0).embed("hello")


def test_an_unreachable_server_is_reported():
    url = f"http://127.0.0.1:{free_port()}/v1"
    embedder = OpenAIEmbedder("m", api_key=API_KEY, base_url=url, dimensions=8, max_retries=0)
    try:
        with pytest.raises(
            BackendUnavailable, match=r"at http://127.0.0.1:\d+ \(model 'm'\) cannot be reached"
        ):
            embedder.embed("hello")
    finally:
        embedder.close()


def test_openai_embedder_works_from_async_code(make_openai):
    assert asyncio.run(make_openai().aembed_many(["a", "b", "c"])).shape == (3, 128)


# Choosing the provider from settings.


def test_the_local_model_is_the_default(settings):
    embedder = get_embedder()
    assert isinstance(embedder, LocalOnnxEmbedder)
    assert embedder.identity == "local:multilingual-e5-small:384"
    assert get_embedder() is embedder


def test_an_api_key_selects_openai(settings):
    settings.OPENAI_API_KEY = SecretStr(API_KEY)
    embedder = get_embedder()
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.identity == "openai:text-embedding-3-small:1536"


def test_an_embedding_base_url_selects_openai_and_is_used(settings, fake_openai):  # noqa: F811
    settings.EMBEDDING_BASE_URL = fake_openai.openai_base_url
    settings.EMBEDDING_MODEL = "nomic-embed-text"
    settings.EMBEDDING_BATCH_SIZE = 2
    embedder = get_embedder()
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.embed_many(["a", "b", "c"]).shape == (3, 128)
    assert [len(body["input"]) for body in fake_openai.bodies(EMBEDDINGS)] == [2, 1]


def test_openai_api_base_is_the_fallback_url(settings, fake_openai):  # noqa: F811
    settings.OPENAI_API_KEY = SecretStr(API_KEY)
    settings.OPENAI_API_BASE = fake_openai.openai_base_url
    settings.EMBEDDING_DIMENSIONS = 16
    assert get_embedder().embed("hello").shape == (16,)
    (request,) = fake_openai.requests
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


def test_an_explicit_provider_wins_over_auto(settings):
    settings.OPENAI_API_KEY = SecretStr(API_KEY)
    settings.EMBEDDING_PROVIDER = "local"
    assert isinstance(get_embedder(), LocalOnnxEmbedder)


def test_changed_settings_give_a_new_embedder(settings):
    first = get_embedder()
    settings.EMBEDDING_BATCH_SIZE = 8
    second = get_embedder()
    assert second is not first and second.batch_size == 8
    reset_embedders()
    assert get_embedder() is not second


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"EMBEDDING_PROVIDER": "cohere"}, ConfigError, "'EMBEDDING_PROVIDER' has value 'cohere'"),
        ({"EMBEDDING_BATCH_SIZE": 0}, ConfigError, "'EMBEDDING_BATCH_SIZE' has value 0"),
        (
            {"EMBEDDING_BASE_URL": "http://127.0.0.1:1/v1", "EMBEDDING_TIMEOUT_SECONDS": "soon"},
            ConfigError,
            "'EMBEDDING_TIMEOUT_SECONDS' has value 'soon'. It must be a positive number",
        ),
        ({"EMBEDDING_DIMENSIONS": 1536}, ConfigError, "local models have 384 dimensions"),
        ({"EMBEDDING_PROVIDER": "openai"}, FeatureDisabled, "neither OPENAI_API_KEY nor EMBEDDING_BASE_URL"),
    ],
)
def test_bad_settings_are_named(settings, overrides, error, message):
    for name, value in overrides.items():
        setattr(settings, name, value)
    with pytest.raises(error, match=message):
        get_embedder()


# The fake server itself, which later issues reuse for chat models.


def test_fake_server_answers_openai_chat_with_scripted_replies(fake_openai):  # noqa: F811
    tools = [{"type": "function", "function": {"name": "save_memories", "parameters": {"type": "object"}}}]
    fake_openai.push(Reply.text("a summary"), Reply.json({"memories": ["x"]}), Reply.json({"topics": []}))
    with openai.OpenAI(api_key=API_KEY, base_url=fake_openai.openai_base_url, max_retries=0) as client:

        def ask(**options):
            return client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], **options
            ).choices[0]

        assert ask().message.content == "a summary"
        (call,) = ask(tools=tools).message.tool_calls
        assert (call.function.name, call.function.arguments) == ("save_memories", '{"memories": ["x"]}')
        assert ask(response_format={"type": "json_object"}).message.content == '{"topics": []}'
        assert ask().message.content == "OK"  # the queue is empty
    assert len(fake_openai.bodies("/v1/chat/completions")) == 4


def test_fake_server_answers_anthropic_messages(fake_openai):  # noqa: F811
    body = {
        "model": "claude-3-5-haiku-latest",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}],
    }
    tools = [{"name": "extract", "input_schema": {"type": "object"}}]
    fake_openai.push(Reply.text("hello"), Reply.json({"n": 1}), Reply.error(529, "overloaded"))
    with httpx.Client(base_url=fake_openai.anthropic_base_url) as client:
        text = client.post("/v1/messages", json=body).json()
        tool = client.post("/v1/messages", json={**body, "tools": tools}).json()
        error = client.post("/v1/messages", json=body)
    assert text["content"] == [{"type": "text", "text": "hello"}] and text["stop_reason"] == "end_turn"
    assert tool["content"][0]["input"] == {"n": 1} and tool["content"][0]["name"] == "extract"
    assert error.status_code == 529 and error.json()["error"]["type"] == "overloaded_error"


def test_fake_server_decodes_for_the_sdk_in_base64(fake_openai):  # noqa: F811
    with openai.OpenAI(api_key=API_KEY, base_url=fake_openai.openai_base_url) as client:
        # Without an encoding_format the SDK asks for base64 and decodes it itself.
        (item,) = client.embeddings.create(model="m", input="red apples", dimensions=8).data
    assert fake_openai.bodies(EMBEDDINGS)[0]["encoding_format"] == "base64"
    np.testing.assert_allclose(item.embedding, bag_of_words("red apples", 8), atol=1e-6)


def test_fake_server_delays_cause_client_timeouts(fake_openai):  # noqa: F811
    fake_openai.push(Reply.slow(5, then=Reply.text("too late")))
    with (
        openai.OpenAI(
            api_key=API_KEY, base_url=fake_openai.openai_base_url, timeout=0.2, max_retries=0
        ) as client,
        pytest.raises(openai.APITimeoutError),
    ):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])


def test_concurrent_small_calls_share_batched_model_calls():
    """Queries made at the same moment are embedded together, each getting its own rows."""
    from providers.embeddings.local import LocalOnnxEmbedder

    embedder = LocalOnnxEmbedder()
    calls: list[int] = []
    original = embedder._embed_batch

    def counting(texts: list[str]):  # type: ignore[no-untyped-def]
        calls.append(len(texts))
        return original(texts)

    embedder._embed_batch = counting  # type: ignore[method-assign]
    texts = [f"question number {i} about tea" for i in range(24)]

    async def concurrently():  # type: ignore[no-untyped-def]
        return await asyncio.gather(*(embedder.aembed(text) for text in texts))

    vectors = asyncio.run(concurrently())
    expected = embedder.embed_many(texts)
    np.testing.assert_allclose(np.stack(vectors), expected, atol=1e-5)
    assert len(calls) - 1 < len(texts)  # fewer model calls than queries (the last call is `expected`)
    embedder.close()


def test_a_failing_batch_fails_every_waiting_call_and_the_next_call_works():
    from providers.embeddings.local import LocalOnnxEmbedder

    embedder = LocalOnnxEmbedder()
    original = embedder._embed_batch
    failures = iter([RuntimeError("model crashed")])

    def flaky(texts: list[str]):  # type: ignore[no-untyped-def]
        error = next(failures, None)
        if error is not None:
            raise error
        return original(texts)

    embedder._embed_batch = flaky  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="model crashed"):
        asyncio.run(embedder.aembed("first"))
    assert asyncio.run(embedder.aembed("second")).shape == (384,)
    embedder.close()


def test_a_bad_text_fails_only_its_own_call_when_batched_with_others():
    from providers.embeddings.local import LocalOnnxEmbedder

    embedder = LocalOnnxEmbedder()
    original = embedder._embed_batch

    def picky(texts: list[str]):  # type: ignore[no-untyped-def]
        if any(text.endswith("poison") for text in texts):
            raise ValueError("cannot embed poison")
        return original(texts)

    embedder._embed_batch = picky  # type: ignore[method-assign]

    async def together():  # type: ignore[no-untyped-def]
        return await asyncio.gather(
            *(embedder.aembed(text) for text in ["tea", "poison", "coffee", "cake"]), return_exceptions=True
        )

    results = asyncio.run(together())
    assert isinstance(results[1], ValueError)
    assert all(getattr(r, "shape", None) == (384,) for i, r in enumerate(results) if i != 1)
    embedder.close()
    # A call after close() gets a fresh coalescing thread rather than waiting forever.
    assert asyncio.run(asyncio.wait_for(embedder.aembed("after close"), timeout=30)).shape == (384,)
    embedder.close()


def test_a_repeated_query_is_answered_from_the_cache(monkeypatch):
    import providers.embeddings.base as base

    embedder = LocalOnnxEmbedder("all-MiniLM-L6-v2")
    calls: list[list[str]] = []
    original = embedder._embed_batch

    def counting(texts: list[str]):  # type: ignore[no-untyped-def]
        calls.append(texts)
        return original(texts)

    embedder._embed_batch = counting  # type: ignore[method-assign]
    first = asyncio.run(embedder.aembed_query("what does Alice drink?"))
    again = asyncio.run(embedder.aembed_query("  what does   Alice drink? "))  # same words, other spacing
    assert len(calls) == 1 and again is first
    np.testing.assert_allclose(first, embedder.embed("what does Alice drink?", kind="query"), atol=1e-6)
    with pytest.raises(ValueError):
        first[0] = 1.0  # shared between callers, so read-only
    # Bounded: the least recently used query is forgotten first.
    monkeypatch.setattr(base, "QUERY_CACHE_SIZE", 2)
    for text in ("tea", "coffee", "what does Alice drink?", "cake"):
        asyncio.run(embedder.aembed_query(text))
    calls.clear()
    asyncio.run(embedder.aembed_query("what does Alice drink?"))  # used recently: kept
    asyncio.run(embedder.aembed_query("tea"))  # evicted: embedded again
    assert calls == [["tea"]]
    embedder.close()
