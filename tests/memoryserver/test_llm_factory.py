"""Choosing and configuring chat models, and the pure parts of structured output."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from memoryserver.config import AppConfig, ConfigError
from providers.llm import (
    ChatMessage,
    ModelNotConfigured,
    chat_model_status,
    get_chat_model,
    reset_chat_models,
)
from providers.llm.anthropic_chat import AnthropicChatModel
from providers.llm.openai_chat import OpenAIChatModel
from providers.llm.structured import (
    StructuredOutputError,
    describe_validation,
    extract_json,
    parse_structured,
    tool_spec,
)
from tests.fake_openai import Reply, fake_openai  # noqa: F401

NOT_CONFIGURED = (
    "No chat model is configured: set OPENAI_API_KEY (or OPENAI_API_BASE for an OpenAI-compatible "
    "server such as Ollama) or ANTHROPIC_API_KEY for claude-* models."
)


class Answer(BaseModel):
    answer: str
    confidence: float = 1.0


@pytest.fixture(autouse=True)
def llm_settings(settings):
    """No model configured, whatever the environment says; models are forgotten afterwards."""
    settings.GENERATION_MODEL = "gpt-4o-mini"
    settings.FAST_MODEL = None
    settings.LLM_PROVIDER = "auto"
    settings.LLM_TIMEOUT_SECONDS = 60.0
    settings.LLM_MAX_RETRIES = 3
    settings.OPENAI_API_KEY = None
    settings.OPENAI_API_BASE = None
    settings.ANTHROPIC_API_KEY = None
    settings.ANTHROPIC_API_BASE = None
    yield settings
    reset_chat_models()


# The factory.


def test_without_a_key_or_base_url_chat_is_disabled_with_the_reason():
    with pytest.raises(ModelNotConfigured) as caught:
        get_chat_model()
    message = str(caught.value)
    assert message.startswith(NOT_CONFIGURED)
    assert (
        "GENERATION_MODEL is 'gpt-4o-mini' (openai), which needs OPENAI_API_KEY or OPENAI_API_BASE" in message
    )
    assert chat_model_status() == (False, message)


def test_an_openai_key_selects_openai(llm_settings):
    llm_settings.OPENAI_API_KEY = SecretStr("sk-test-factory")
    model = get_chat_model()
    assert isinstance(model, OpenAIChatModel) and model.model == "gpt-4o-mini"
    assert chat_model_status() == (True, "gpt-4o-mini via openai")


def test_claude_models_go_to_anthropic(llm_settings):
    llm_settings.GENERATION_MODEL = "claude-haiku-4-5"
    llm_settings.OPENAI_API_KEY = SecretStr("sk-test-factory")
    with pytest.raises(
        ModelNotConfigured, match=r"'claude-haiku-4-5' \(anthropic\), which needs ANTHROPIC_API_KEY"
    ):
        get_chat_model()
    llm_settings.ANTHROPIC_API_KEY = SecretStr("sk-ant-test-factory")
    assert isinstance(get_chat_model(), AnthropicChatModel)
    assert chat_model_status() == (True, "claude-haiku-4-5 via anthropic")


def test_llm_provider_overrides_the_guess(llm_settings):
    # A claude model behind an OpenAI-compatible gateway (LiteLLM, OpenRouter, ...).
    llm_settings.GENERATION_MODEL = "claude-haiku-4-5"
    llm_settings.LLM_PROVIDER = "openai"
    llm_settings.OPENAI_API_BASE = "http://gateway.example/v1"
    assert isinstance(get_chat_model(), OpenAIChatModel)


def test_openai_api_base_alone_enables_a_local_server(llm_settings, fake_openai, redis_client):  # noqa: F811
    llm_settings.GENERATION_MODEL = "llama3.2"
    llm_settings.OPENAI_API_BASE = fake_openai.openai_base_url
    fake_openai.push(Reply.text("local answer"))
    try:
        assert get_chat_model().complete([ChatMessage("user", "hi")], task="test").text == "local answer"
    finally:
        redis_client.delete("llm_usage:test")
    [request] = fake_openai.requests
    assert request.headers["authorization"] == "Bearer not-needed"
    assert request.body["model"] == "llama3.2"
    assert chat_model_status() == (True, "llama3.2 via openai")


def test_fast_model_defaults_to_the_generation_model(llm_settings):
    llm_settings.OPENAI_API_KEY = SecretStr("sk-test-factory")
    assert get_chat_model("fast") is get_chat_model("generation")
    llm_settings.FAST_MODEL = "gpt-4.1-nano"
    fast = get_chat_model("fast")
    assert fast.model == "gpt-4.1-nano" and get_chat_model().model == "gpt-4o-mini"
    assert chat_model_status("fast") == (True, "gpt-4.1-nano via openai")


def test_a_fast_claude_model_without_its_key_names_fast_model(llm_settings):
    llm_settings.OPENAI_API_KEY = SecretStr("sk-test-factory")
    llm_settings.FAST_MODEL = "claude-haiku-4-5"
    with pytest.raises(ModelNotConfigured, match="FAST_MODEL is 'claude-haiku-4-5' \\(anthropic\\)"):
        get_chat_model("fast")


def test_a_model_named_by_the_caller_uses_the_configured_provider_settings(llm_settings):
    llm_settings.OPENAI_API_KEY = SecretStr("sk-test-factory")
    named = get_chat_model("fast", model="gpt-4.1-mini")
    assert isinstance(named, OpenAIChatModel) and named.model == "gpt-4.1-mini"
    assert get_chat_model("fast").model == "gpt-4o-mini"
    with pytest.raises(ModelNotConfigured, match="'claude-haiku-4-5' \\(anthropic\\)"):
        get_chat_model("fast", model="claude-haiku-4-5")


def test_models_are_cached_per_configuration(llm_settings):
    llm_settings.OPENAI_API_KEY = SecretStr("sk-test-factory")
    first = get_chat_model()
    assert get_chat_model() is first
    llm_settings.LLM_TIMEOUT_SECONDS = 5.0
    assert get_chat_model() is not first
    reset_chat_models()
    llm_settings.LLM_TIMEOUT_SECONDS = 60.0
    assert get_chat_model() is not first


def test_unset_django_settings_fall_back_to_the_validated_config(llm_settings):
    llm_settings.OPENAI_API_KEY = SecretStr("sk-test-factory")
    del llm_settings.FAST_MODEL
    llm_settings.CONFIG = llm_settings.CONFIG.model_copy(update={"fast_model": "gpt-4.1-mini"})
    assert get_chat_model("fast").model == "gpt-4.1-mini"


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("LLM_PROVIDER", "mistral", "Use one of ('auto', 'openai', 'anthropic')"),
        ("LLM_MAX_RETRIES", 11, "It must be an integer from 0 to 10"),
        ("LLM_MAX_RETRIES", 1.5, "It must be an integer from 0 to 10"),
        ("LLM_TIMEOUT_SECONDS", 0, "It must be a number from 0.001 to 1800"),
    ],
)
def test_bad_settings_name_the_value_and_the_rule(llm_settings, name, value, rule):
    llm_settings.OPENAI_API_KEY = SecretStr("sk-test-factory")
    setattr(llm_settings, name, value)
    with pytest.raises(ConfigError, match=re.escape(f"Config '{name}' has value {value!r}. {rule}")):
        get_chat_model()
    ok, reason = chat_model_status()
    assert not ok and reason.startswith(f"Config '{name}'")


def test_an_unknown_purpose_is_refused():
    with pytest.raises(ValueError, match="purpose has value 'cheap'"):
        get_chat_model("cheap")  # type: ignore[arg-type]


def test_config_fields_have_defaults_and_bounds(monkeypatch):
    for name in ("FAST_MODEL", "LLM_PROVIDER", "LLM_TIMEOUT_SECONDS", "LLM_MAX_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    config = AppConfig(_env_file=None)
    assert (config.fast_model, config.llm_provider) == (None, "auto")
    assert (config.llm_timeout_seconds, config.llm_max_retries) == (60, 3)
    monkeypatch.setenv("LLM_PROVIDER", "anthropic")
    monkeypatch.setenv("LLM_MAX_RETRIES", "0")
    config = AppConfig(_env_file=None)
    assert (config.llm_provider, config.llm_max_retries) == ("anthropic", 0)
    monkeypatch.setenv("LLM_MAX_RETRIES", "11")
    with pytest.raises(ValidationError, match="llm_max_retries"):
        AppConfig(_env_file=None)


# Structured output, without a model.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"answer": "x"}', '{"answer": "x"}'),
        ('  ```json\n{"answer": "x"}\n```  ', '{"answer": "x"}'),
        ('```JSON\n{"answer": "x"}```', '{"answer": "x"}'),
        ('Sure! {"answer": "x"} Hope that helps.', '{"answer": "x"}'),
        ('<think>maybe {"answer": "y"}</think>{"answer": "x"}', '{"answer": "x"}'),
        ("[1, 2]", "[1, 2]"),
        ("no json here", "no json here"),
    ],
)
def test_json_is_extracted_from_fences_prose_and_thinking(text, expected):
    assert extract_json(text) == expected


def test_parse_structured_returns_the_object_and_its_json():
    data, text = parse_structured('```json\n{"answer": "yes", "confidence": 0.5}\n```', Answer)
    assert data == Answer(answer="yes", confidence=0.5)
    assert text == '{"answer": "yes", "confidence": 0.5}'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the reply is empty"),
        ('{"answer": ', "the reply is not JSON (Expecting value at line 1 column 11)"),
        (
            '{"confidence": "high"}',
            "does not match Answer: answer: Field required; confidence: Input should be",
        ),
    ],
)
def test_parse_structured_says_what_is_wrong(text, problem):
    with pytest.raises(StructuredOutputError, match=re.escape(problem)):
        parse_structured(text, Answer)


def test_validation_problems_are_capped_and_counted():
    class Many(BaseModel):
        a: int
        b: int
        c: int
        d: int
        e: int
        f: int
        g: int

    with pytest.raises(ValidationError) as caught:
        Many.model_validate({})
    described = describe_validation(caught.value)
    assert described.startswith("a: Field required; b: Field required")
    assert described.endswith("(and 2 more)")


def test_tool_names_are_safe_for_both_apis():
    class Über_Answer(BaseModel):  # characters that no tool name may contain
        text: str

    spec = tool_spec(Über_Answer)
    assert spec.name == "_ber_Answer"
    assert spec.parameters == Über_Answer.model_json_schema()
    assert spec.description == "Return the answer as Über_Answer."
