"""Chat through the official `anthropic` SDK (Messages API).

System messages become the `system` parameter. `temperature` is not sent: API version
2026-10-21, which the 2.x SDK speaks, refuses sampling parameters on every model. The SDK
retries 408/409/429/5xx answers, timeouts and refused connections with exponential
back-off; what is left afterwards becomes `ModelUnavailable`.
"""

from __future__ import annotations

import json
from typing import Any, cast

import anthropic
from anthropic.types import Message, MessageParam
from pydantic import BaseModel

from providers.llm.base import ChatMessage, ChatModel, RawReply
from providers.llm.failures import FailureReporter
from providers.llm.structured import tool_spec
from providers.llm.usage import Usage

NO_KEY = "not-needed"  # a proxy at ANTHROPIC_API_BASE may hold the key itself


class AnthropicChatModel(ChatModel):
    """A Claude model behind `/v1/messages`."""

    provider = "anthropic"

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
        # An explicit key also stops the SDK from looking for credentials elsewhere.
        self._client = anthropic.Anthropic(
            api_key=api_key or NO_KEY, base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        self._failures = FailureReporter(
            label=self.label,
            model=model,
            base_url=str(self._client.base_url),
            key_setting="ANTHROPIC_API_KEY",
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
        options: dict[str, Any] = {}
        system = "\n\n".join(message.content for message in messages if message.role == "system")
        if system:
            options["system"] = system
        tool_name = None
        if schema is not None:
            tool = tool_spec(schema)
            tool_name = tool.name
            options["tools"] = [
                {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
            ]
            options["tool_choice"] = {"type": "tool", "name": tool.name}
        try:
            response = self._client.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                messages=[_message_param(message) for message in messages if message.role != "system"],
                **options,
            )
        except anthropic.AnthropicError as error:
            raise self._failures.sdk_error(error, anthropic) from None
        if getattr(response, "content", None) is None or getattr(response, "usage", None) is None:
            raise self._failures.malformed_answer("a message")
        usage = Usage(response.usage.input_tokens or 0, response.usage.output_tokens or 0)
        return RawReply(text=_reply_text(response, tool_name), usage=usage)


def _message_param(message: ChatMessage) -> MessageParam:
    return cast(MessageParam, {"role": message.role, "content": message.content})


def _reply_text(response: Message, tool_name: str | None) -> str:
    """The forced tool call's input as JSON when there is one, else the text blocks."""
    if tool_name is not None:
        calls = [block for block in response.content if block.type == "tool_use"]
        chosen = next((block for block in calls if block.name == tool_name), None)
        if chosen is None and calls:
            chosen = calls[0]
        if chosen is not None:
            return json.dumps(chosen.input)
    return "".join(block.text for block in response.content if block.type == "text")
