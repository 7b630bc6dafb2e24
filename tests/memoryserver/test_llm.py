"""Chat models through the real `openai` and `anthropic` SDKs, against the scripted fake server.

Every test runs once per provider; the fake server records what the SDK really sent.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from pydantic import BaseModel, SecretStr

from providers.llm import (
    ChatMessage,
    ModelOutputInvalid,
    ModelUnavailable,
    Usage,
    get_chat_model,
    reset_chat_models,
    usage_totals,
)
from server.localredis import free_port
from tests.fake_openai import FakeOpenAI, Reply, fake_openai  # noqa: F401

OPENAI_KEY = "sk-test-llm-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-test-llm-0123456789abcdef"
QUESTION = [
    ChatMessage("system", "You extract facts."),
    ChatMessage("user", "I moved to Lisbon in May and I love surfing."),
]
GOOD = {"facts": [{"text": "The user moved to Lisbon in May.", "topics": ["travel"]}]}


class Fact(BaseModel):
    text: str
    topics: list[str] = []


class Facts(BaseModel):
    """Facts worth remembering about the user."""

    facts: list[Fact]


@dataclass
class Provider:
    """One provider wired to the fake server through settings."""

    name: str
    model: str
    path: str
    key: str
    server: FakeOpenAI

    def bodies(self) -> list[Any]:
        return self.server.bodies(self.path)

    def tool_names(self, body: dict[str, Any]) -> list[str]:
        if self.name == "anthropic":
            return [tool["name"] for tool in body["tools"]]
        return [tool["function"]["name"] for tool in body["tools"]]

    def tool_parameters(self, body: dict[str, Any]) -> dict[str, Any]:
        tool = body["tools"][0]
        return tool["input_schema"] if self.name == "anthropic" else tool["function"]["parameters"]

    def forced_tool(self, body: dict[str, Any]) -> str:
        choice = body["tool_choice"]
        if self.name == "anthropic":
            assert choice["type"] == "tool"
            return str(choice["name"])
        assert choice["type"] == "function"
        return str(choice["function"]["name"])


@pytest.fixture(autouse=True)
def llm_settings(settings):
    """The documented defaults, whatever the environment says; models are forgotten afterwards."""
    settings.GENERATION_MODEL = "gpt-4o-mini"
    settings.FAST_MODEL = None
    settings.LLM_PROVIDER = "auto"
    settings.LLM_TIMEOUT_SECONDS = 10.0
    settings.LLM_MAX_RETRIES = 2
    settings.OPENAI_API_KEY = None
    settings.OPENAI_API_BASE = None
    settings.ANTHROPIC_API_KEY = None
    settings.ANTHROPIC_API_BASE = None
    yield settings
    reset_chat_models()


@pytest.fixture
def usage_keys(redis_client: redis.Redis):
    """A clean Redis; the usage counters the test wrote are removed afterwards."""
    yield redis_client
    for key in redis_client.scan_iter(match="llm_usage:*"):
        redis_client.delete(key)


@pytest.fixture(params=["openai", "anthropic"])
def provider(request, llm_settings, fake_openai, usage_keys) -> Provider:  # noqa: F811
    if request.param == "openai":
        llm_settings.OPENAI_API_KEY = SecretStr(OPENAI_KEY)
        llm_settings.OPENAI_API_BASE = fake_openai.openai_base_url
        return Provider("openai", "gpt-4o-mini", "/v1/chat/completions", OPENAI_KEY, fake_openai)
    llm_settings.GENERATION_MODEL = "claude-haiku-4-5"
    llm_settings.ANTHROPIC_API_KEY = SecretStr(ANTHROPIC_KEY)
    llm_settings.ANTHROPIC_API_BASE = fake_openai.anthropic_base_url
    return Provider("anthropic", "claude-haiku-4-5", "/v1/messages", ANTHROPIC_KEY, fake_openai)


# Plain text.


def test_plain_text_is_the_assistant_answer(provider: Provider):
    provider.server.push(Reply.text("You live in Lisbon."))
    result = get_chat_model().complete(QUESTION, max_tokens=300)
    assert result.text == "You live in Lisbon." and result.data is None
    assert result.model == provider.model
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    [body] = provider.bodies()
    assert body["model"] == provider.model and "tools" not in body
    if provider.name == "anthropic":
        # System messages travel apart; sampling parameters are refused by API 2026-10-21.
        assert body["system"] == "You extract facts."
        assert body["messages"] == [{"role": "user", "content": QUESTION[1].content}]
        assert body["max_tokens"] == 300 and "temperature" not in body
    else:
        assert [message["role"] for message in body["messages"]] == ["system", "user"]
        assert body["max_tokens"] == 300 and body["temperature"] == 0.0


# Structured output.


def test_structured_output_is_a_forced_tool_call(provider: Provider):
    provider.server.push(Reply.json(GOOD))
    result = get_chat_model().complete(QUESTION, schema=Facts, task="extraction")
    assert result.data == Facts.model_validate(GOOD)
    assert json.loads(result.text) == GOOD
    [body] = provider.bodies()
    assert provider.tool_names(body) == ["Facts"] and provider.forced_tool(body) == "Facts"
    assert provider.tool_parameters(body) == Facts.model_json_schema()


@pytest.mark.parametrize(
    "answer",
    [
        json.dumps(GOOD),
        f"```json\n{json.dumps(GOOD, indent=2)}\n```",
        f"Here are the facts:\n```\n{json.dumps(GOOD)}\n```\nAnything else?",
        f"<think>The user said {{moved}}.</think>\n{json.dumps(GOOD)}",
    ],
    ids=["plain", "fenced", "fenced-in-prose", "after-thinking"],
)
def test_structured_output_answered_as_text_is_accepted(provider: Provider, answer: str):
    # Local models behind OpenAI-compatible servers often ignore tool_choice and answer in text.
    provider.server.push(Reply.text(answer))
    result = get_chat_model().complete(QUESTION, schema=Facts)
    assert result.data == Facts.model_validate(GOOD)
    assert json.loads(result.text) == GOOD
    assert len(provider.bodies()) == 1


def test_malformed_output_is_corrected_by_one_retry(provider: Provider):
    provider.server.push(Reply.json({"facts": [{"topics": ["travel"]}]}), Reply.json(GOOD))
    result = get_chat_model().complete(QUESTION, schema=Facts, task="extraction")
    assert result.data == Facts.model_validate(GOOD)
    first, second = provider.bodies()
    sent = second["messages"]
    assert sent[: len(first["messages"])] == first["messages"]
    bad_output, correction = sent[len(first["messages"]) :]
    assert bad_output == {"role": "assistant", "content": json.dumps({"facts": [{"topics": ["travel"]}]})}
    assert correction["role"] == "user"
    assert "does not match Facts: facts.0.text: Field required" in correction["content"]
    assert provider.forced_tool(second) == "Facts"
    totals = usage_totals()["extraction"]
    assert totals["calls"] == 2
    assert result.usage == Usage(totals["input_tokens"], totals["output_tokens"])


def test_output_malformed_twice_is_refused_with_the_task_and_the_problem(provider: Provider):
    provider.server.push(Reply.text("I cannot answer that."), Reply.json({"facts": "Lisbon"}))
    with pytest.raises(ModelOutputInvalid) as caught:
        get_chat_model().complete(QUESTION, schema=Facts, task="extraction")
    message = str(caught.value)
    assert f"Chat model '{provider.model}' ({provider.name})" in message
    assert "task 'extraction'" in message and "schema Facts" in message
    assert "facts: Input should be a valid list" in message
    assert len(provider.bodies()) == 2
    assert "the reply is not JSON" in provider.bodies()[1]["messages"][-1]["content"]


# Failures.


def test_rate_limit_is_retried_by_the_sdk(provider: Provider):
    provider.server.push(Reply.error(429, "slow down"), Reply.text("fine"))
    assert get_chat_model().complete(QUESTION).text == "fine"
    assert len(provider.bodies()) == 2


def test_server_errors_after_every_retry_are_unavailable_without_the_key(provider: Provider, llm_settings):
    llm_settings.LLM_MAX_RETRIES = 2
    provider.server.push(*[Reply.error(500, f"broken for {provider.key}")] * 3)
    with pytest.raises(ModelUnavailable) as caught:
        get_chat_model().complete(QUESTION)
    message = str(caught.value)
    assert message.startswith(f"Chat model '{provider.model}' ({provider.name}) failed after retries")
    assert "(3 attempts): 500 server error" in message
    assert provider.key not in message
    assert len(provider.bodies()) == 3 and provider.server.pending() == 0


def test_a_slow_model_times_out(provider: Provider, llm_settings):
    llm_settings.LLM_TIMEOUT_SECONDS = 0.2
    llm_settings.LLM_MAX_RETRIES = 0
    provider.server.push(Reply.slow(5.0, then=Reply.text("too late")))
    with pytest.raises(ModelUnavailable, match=r"no answer within 0\.2 s \(LLM_TIMEOUT_SECONDS\)"):
        get_chat_model().complete(QUESTION)
    assert len(provider.bodies()) == 1


def test_a_wrong_key_is_named_and_not_retried(provider: Provider):
    provider.server.push(Reply.error(401, "invalid x-api-key"))
    with pytest.raises(ModelUnavailable) as caught:
        get_chat_model().complete(QUESTION)
    setting = "ANTHROPIC_API_KEY" if provider.name == "anthropic" else "OPENAI_API_KEY"
    message = str(caught.value)
    assert f"authentication failed (401): {setting} is missing, wrong or revoked" in message
    assert provider.key not in message
    assert len(provider.bodies()) == 1


def test_an_unknown_model_is_named(provider: Provider):
    provider.server.push(Reply.error(404, "model not found"))
    with pytest.raises(ModelUnavailable, match=rf"not found \(404\): unknown model '{provider.model}'"):
        get_chat_model().complete(QUESTION)


def test_an_unreachable_server_is_unavailable(llm_settings):
    llm_settings.OPENAI_API_BASE = f"http://127.0.0.1:{free_port()}/v1"
    llm_settings.LLM_MAX_RETRIES = 0
    with pytest.raises(ModelUnavailable, match=r"\(1 attempt\): cannot connect to http://127\.0\.0\.1:\d+\."):
        get_chat_model().complete(QUESTION)


# Usage accounting.


def test_usage_is_counted_per_task_in_redis(provider: Provider, usage_keys: redis.Redis, caplog):
    provider.server.push(Reply.text("one"), Reply.text("two"), Reply.json(GOOD))
    model = get_chat_model()
    with caplog.at_level(logging.INFO, logger="providers.llm.usage"):
        first = model.complete(QUESTION, task="summary")
        second = model.complete(QUESTION, task="summary")
        third = model.complete(QUESTION, schema=Facts, task="extraction")
    summary = first.usage + second.usage
    assert usage_keys.hgetall("llm_usage:summary") == {
        b"calls": b"2",
        b"input_tokens": str(summary.input_tokens).encode(),
        b"output_tokens": str(summary.output_tokens).encode(),
    }
    assert usage_totals() == {
        "extraction": {
            "calls": 1,
            "input_tokens": third.usage.input_tokens,
            "output_tokens": third.usage.output_tokens,
        },
        "summary": {"calls": 2, "input_tokens": summary.input_tokens, "output_tokens": summary.output_tokens},
    }
    lines = [record.getMessage() for record in caplog.records if record.levelno == logging.INFO]
    assert len(lines) == 3
    assert lines[0] == (
        f"LLM call task=summary model={provider.model} provider={provider.name} "
        f"input_tokens={first.usage.input_tokens} output_tokens={first.usage.output_tokens}"
    )


def test_a_redis_failure_does_not_fail_the_call(provider: Provider, llm_settings, caplog):
    llm_settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    provider.server.push(Reply.text("still here"))
    with caplog.at_level(logging.WARNING, logger="providers.llm.usage"):
        assert get_chat_model().complete(QUESTION, task="summary").text == "still here"
    assert "LLM usage for task 'summary' was not counted: Redis failed" in caplog.text
