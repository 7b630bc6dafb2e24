"""providers.embeddings: which embedder the settings ask for, and the settings it refuses."""

from __future__ import annotations

import asyncio
import re
import threading

import pytest
from pydantic import SecretStr

from memoryserver.config import ConfigError
from providers.embeddings import EmbeddingConfig, get_embedder, reset_embedders
from providers.embeddings.local import LocalOnnxEmbedder
from tests.fake_openai import FakeOpenAI, fake_openai  # noqa: F401
from tests.helpers import documented_embedding_settings

API_KEY = "sk-test-factory-0123456789"


@pytest.fixture(autouse=True)
def embedding_settings(settings):
    """Start every test from the documented defaults, whatever the environment says."""
    yield from documented_embedding_settings(settings)


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("EMBEDDING_BATCH_SIZE", True, "a positive integer"),
        ("EMBEDDING_BATCH_SIZE", 2.5, "a positive integer"),
        ("EMBEDDING_BATCH_SIZE", -3, "a positive integer"),
        ("EMBEDDING_DIMENSIONS", "384", "a positive integer"),
        ("EMBEDDING_THREADS", 0, "a positive integer"),
    ],
)
def test_a_bad_number_is_refused_naming_the_setting_its_value_and_the_rule(
    embedding_settings, name, value, rule
):
    setattr(embedding_settings, name, value)
    with pytest.raises(
        ConfigError, match=f"^{re.escape(f'Config {name!r} has value {value!r}. It must be {rule}.')}$"
    ):
        EmbeddingConfig.from_settings()


def test_an_empty_api_key_counts_as_unset(embedding_settings):
    embedding_settings.OPENAI_API_KEY = SecretStr("")
    assert EmbeddingConfig.from_settings().provider == "local"
    embedding_settings.EMBEDDING_PROVIDER = ""  # empty is "auto" too
    assert EmbeddingConfig.from_settings().provider == "local"


def test_the_embedding_url_wins_over_the_openai_url(embedding_settings):
    embedding_settings.OPENAI_API_BASE = "http://openai-proxy.example/v1"
    embedding_settings.EMBEDDING_BASE_URL = "http://ollama.example:11434/v1"
    config = EmbeddingConfig.from_settings()
    assert (config.provider, config.base_url) == ("openai", "http://ollama.example:11434/v1")
    assert config.model == "text-embedding-3-small"


def test_a_local_embedder_is_kept_when_only_api_settings_change(embedding_settings):
    embedding_settings.EMBEDDING_PROVIDER = "local"
    embedding_settings.EMBEDDING_DIMENSIONS = 384  # the local models' own size is accepted
    first = get_embedder()
    config = EmbeddingConfig.from_settings()
    assert isinstance(first, LocalOnnxEmbedder) and (config.api_key, config.base_url) == (None, None)
    embedding_settings.OPENAI_API_KEY = SecretStr(API_KEY)
    embedding_settings.OPENAI_API_BASE = "http://elsewhere.example/v1"
    embedding_settings.EMBEDDING_TIMEOUT_SECONDS = 1
    assert get_embedder() is first


def test_reset_closes_every_embedder_and_ends_its_coalescing_thread(
    embedding_settings,
    fake_openai: FakeOpenAI,  # noqa: F811
):
    embedding_settings.EMBEDDING_BASE_URL = fake_openai.openai_base_url
    embedding_settings.EMBEDDING_MODEL = "nomic-embed-text"
    before = set(threading.enumerate())
    embedder = get_embedder()
    assert asyncio.run(embedder.aembed("hello")).shape == (fake_openai.embedding_dims,)
    (coalescing,) = [
        thread for thread in set(threading.enumerate()) - before if thread.name == "embed-openai"
    ]
    reset_embedders()
    coalescing.join(timeout=5)
    assert not coalescing.is_alive()
    assert get_embedder() is not embedder
