"""Chat through the official `openai` SDK: the OpenAI API or any OpenAI-compatible server.

With a base URL (Ollama, vLLM, LM Studio, ...) no real key is needed. The SDK retries
408/409/429/5xx answers, timeouts and refused connections with exponential back-off;
what is left afterwards becomes `ModelUnavailable`.
"""

from __future__ import annotations

from typing import Any, cast

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from pydantic import BaseModel

from providers.llm.base import ChatMessage, ChatModel, RawReply
from providers.llm.failures import FailureReporter
from providers.llm.structured import tool_spec
from providers.llm.usage import Usage

NO_KEY = "not-needed"  # local servers ignore the bearer token, but the SDK insists on one


class OpenAIChatModel(ChatModel):
    """A chat model behind `/v1/chat/completions`."""

    provider = "openai"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
    ) -> None:
        super().__init__(model)
        self._client = openai.OpenAI(
            api_key=api_key or NO_KEY, base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        # The official API wants max_completion_tokens (reasoning models refuse max_tokens);
        # compatible servers have long understood only max_tokens.
        self._token_limit_param = "max_tokens" if base_url else "max_completion_tokens"
        self._failures = FailureReporter(
            label=self.label,
            model=model,
            base_url=str(self._client.base_url),
            key_setting="OPENAI_API_KEY",
            max_retries=max_retries,
            timeout=timeout,
            secret=api_key,
        )

    def close(self) -> None:
        self._client.close()

    def _call(
        self,
        messages: list[ChatMessage],
        schema: type[BaseModel] | None,
        max_tokens: int,
        temperature: float,
    ) -> RawReply:
        options: dict[str, Any] = {self._token_limit_param: max_tokens}
        tool_name = None
        if schema is not None:
            tool = tool_spec(schema)
            tool_name = tool.name
            options["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                }
            ]
            options["tool_choice"] = {"type": "function", "function": {"name": tool.name}}
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=[_message_param(message) for message in messages],
                temperature=temperature,
                **options,
            )
        except openai.OpenAIError as error:
            raise self._failures.sdk_error(error, openai) from None
        if getattr(response, "choices", None) is None:
            raise self._failures.malformed_answer("a chat completion")
        return RawReply(text=_reply_text(response, tool_name), usage=_usage(response))


def _message_param(message: ChatMessage) -> ChatCompletionMessageParam:
    return cast(ChatCompletionMessageParam, {"role": message.role, "content": message.content})


def _reply_text(response: ChatCompletion, tool_name: str | None) -> str:
    """The forced tool call's arguments when there is one, else the text content."""
    if not response.choices:
        return ""
    message = response.choices[0].message
    if tool_name is not None:
        calls = [call for call in message.tool_calls or [] if call.type == "function"]
        chosen = next((call for call in calls if call.function.name == tool_name), None)
        if chosen is None and calls:
            chosen = calls[0]
        if chosen is not None:
            return chosen.function.arguments
    return message.content or message.refusal or ""


def _usage(response: ChatCompletion) -> Usage:
    # Some compatible servers leave usage out.
    if response.usage is None:
        return Usage()
    return Usage(response.usage.prompt_tokens or 0, response.usage.completion_tokens or 0)
