"""The chat models (base.py's complete(), openai_chat.py, anthropic_chat.py) against the scripted
server: failures retried or not, and the odd answers they still take."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis
from pydantic import BaseModel

from providers.llm import ChatMessage, ChatModel, ModelUnavailable, Usage
from providers.llm.anthropic_chat import AnthropicChatModel
from providers.llm.openai_chat import OpenAIChatModel
from server.localredis import free_port
from tests.fake_openai import FakeOpenAI, Reply, fake_openai  # noqa: F401

KEY = "sk-test-providers-0123456789"
QUESTION = [ChatMessage("user", "Where does the user live?")]
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}
Make = Callable[..., ChatModel]


class Place(BaseModel):
    city: str


@pytest.fixture
def make(request, fake_openai: FakeOpenAI, redis_client: redis.Redis) -> Iterator[Make]:  # noqa: F811
    """Builds models of the provider the test is parametrised with (OpenAI if none), on the fake."""
    name = getattr(request, "param", "openai")
    url = fake_openai.openai_base_url if name == "openai" else fake_openai.anthropic_base_url
    model_class = OpenAIChatModel if name == "openai" else AnthropicChatModel
    made: list[ChatModel] = []

    def build(max_retries: int = 2, timeout: float = 10.0) -> ChatModel:
        made.append(model_class("m-1", api_key=KEY, base_url=url, max_retries=max_retries, timeout=timeout))
        return made[-1]

    yield build
    for chat in made:
        chat.close()
    for key in redis_client.scan_iter(match="llm_usage:*"):  # every call counts its tokens
        redis_client.delete(key)


both_providers = pytest.mark.parametrize("make", list(PATHS), indirect=True)


def failure(make: Make, max_retries: int = 2, timeout: float = 10.0) -> str:
    with pytest.raises(ModelUnavailable) as caught:
        make(max_retries, timeout).complete(QUESTION)
    assert KEY not in str(caught.value)
    return str(caught.value)


def requests(server: FakeOpenAI) -> int:
    return sum(len(server.bodies(path)) for path in PATHS.values())


def completion(content: str) -> Reply:
    """An OpenAI chat completion with exactly this content, 7 tokens in and 3 out."""
    message = {"role": "assistant", "content": content, "refusal": None}
    return Reply.raw(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "m-1",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        }
    )


@both_providers
def test_a_lasting_rate_limit_is_retried_as_soon_as_the_server_allows_then_reported(make, fake_openai):  # noqa: F811
    fake_openai.push(*[Reply.error(429, "slow down")] * 3)
    started = time.monotonic()
    message = failure(make, max_retries=2)
    # The server asks for 1 ms (retry-after-ms); the SDKs' own back-off would take over a second.
    assert time.monotonic() - started < 0.75
    assert message.endswith("failed after retries (3 attempts): 429 rate limited: slow down")
    assert requests(fake_openai) == 3


@both_providers
@pytest.mark.parametrize(
    ("status", "reason"), [(408, "request timeout"), (529, "overloaded"), (503, "server error")]
)
def test_retried_statuses_are_reported_after_every_attempt(make, fake_openai, status, reason):  # noqa: F811
    fake_openai.push(*[Reply.error(status, "busy")] * 2)
    assert failure(make, max_retries=1).endswith(f"(2 attempts): {status} {reason}: busy")
    assert requests(fake_openai) == 2 and fake_openai.pending() == 0


@both_providers
@pytest.mark.parametrize(
    ("status", "wording"),
    [
        (400, "rejected the request (400 bad request): context too long for key ***"),
        (403, "permission denied (403): the key in {setting} may not use it."),
        (422, "answered 422: context too long for key ***"),
    ],
)
def test_errors_of_the_request_itself_are_reported_at_once(make, fake_openai, status, wording):  # noqa: F811
    fake_openai.push(Reply.error(status, f"context too long for key {KEY}"))
    message = failure(make)
    setting = "ANTHROPIC_API_KEY" if "(anthropic)" in message else "OPENAI_API_KEY"
    assert message.endswith(wording.format(setting=setting))
    assert requests(fake_openai) == 1


@both_providers
def test_a_silent_model_is_retried_then_reported_as_a_timeout(make, fake_openai):  # noqa: F811
    fake_openai.push(*[Reply.slow(3.0, then=Reply.text("too late"))] * 2)
    message = failure(make, max_retries=1, timeout=0.3)
    assert message.endswith("(2 attempts): no answer within 0.3 s (LLM_TIMEOUT_SECONDS).")
    assert requests(fake_openai) == 2


@both_providers
def test_a_tool_call_under_another_name_is_still_taken_as_the_answer(make, fake_openai):  # noqa: F811
    fake_openai.push(Reply.json({"city": "Lisbon"}, tool="answer"))
    assert make().complete(QUESTION, schema=Place).data == Place(city="Lisbon")
    assert requests(fake_openai) == 1


@both_providers
@pytest.mark.parametrize("body", ["upstream proxy says hello", {"status": "ok"}], ids=["string", "object"])
def test_a_success_answer_that_is_not_a_chat_completion_is_unavailable(make, fake_openai, body):  # noqa: F811
    fake_openai.push(Reply.raw(body))
    assert "answered with something that is not a" in failure(make)
    assert requests(fake_openai) == 1  # a success status is not retried


def test_an_unreachable_anthropic_server_is_unavailable():
    model = AnthropicChatModel(
        "claude-x", api_key=KEY, base_url=f"http://127.0.0.1:{free_port()}", max_retries=0
    )
    with pytest.raises(
        ModelUnavailable, match=r"\(1 attempt\): cannot connect to http://127\.0\.0\.1:\d+\.$"
    ):
        model.complete(QUESTION)
    model.close()


def test_an_empty_answer_is_sent_back_as_no_output_and_both_calls_are_paid_for(make, fake_openai):  # noqa: F811
    fake_openai.push(completion(""), completion('{"city": "Porto"}'))
    result = make().complete(QUESTION, schema=Place)
    assert (result.data, result.usage) == (Place(city="Porto"), Usage(14, 6))
    bad_output, correction = fake_openai.bodies(PATHS["openai"])[1]["messages"][-2:]
    # The APIs refuse an assistant message with empty content.
    assert bad_output == {"role": "assistant", "content": "(no output)"}
    assert correction["content"].startswith("That answer could not be used: the reply is empty.")
