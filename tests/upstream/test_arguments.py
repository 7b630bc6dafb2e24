"""The MCP tools' argument models: what an LLM may send, and what reaches the service contracts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from longterm_app.records import MemoryRecord
from longterm_app.strategies import MemoryStrategy
from upstream.arguments import MemoryArg, MessageArg, StrategyArg

JAN_1_2025 = 1735689600.0


def test_a_memory_argument_sends_only_what_was_given_with_semantic_as_its_type():
    assert MemoryArg(text="Alice likes tea").payload() == {
        "text": "Alice likes tea",
        "memory_type": "semantic",
    }


def test_a_memory_arguments_times_reach_the_record_as_epoch_seconds():
    memory = MemoryArg.model_validate(
        {
            "text": "trip",
            "memory_type": "episodic",
            "event_date": "2025-01-01T00:00:00Z",
            "created_at": JAN_1_2025,
        }
    )
    record = MemoryRecord.model_validate(memory.payload())
    assert (record.event_date, record.created_at, record.memory_type) == (JAN_1_2025, JAN_1_2025, "episodic")


def test_upstream_only_memory_keys_are_accepted_and_dropped():
    memory = MemoryArg.model_validate(
        {"text": "x", "pinned": True, "access_count": 9, "extraction_strategy": "summary", "dist": 0.1}
    )
    assert set(memory.payload()) == {"text", "memory_type"}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"memory_type": "procedural"}, "memory_type"),
        ({"event_date": "next friday"}, "event_date"),
        ({"discrete_memory_extracted": "yes"}, "discrete_memory_extracted"),
    ],
)
def test_a_memory_argument_out_of_its_vocabulary_is_refused_by_field(value, field):
    with pytest.raises(ValidationError) as error:
        MemoryArg.model_validate({"text": "x", **value})
    assert [item["loc"] for item in error.value.errors()] == [(field,)]


def test_a_memory_argument_needs_its_text():
    with pytest.raises(ValidationError) as error:
        MemoryArg.model_validate({"topics": ["a"]})
    assert error.value.errors()[0]["loc"] == ("text",)


def test_a_message_argument_takes_an_iso_time_and_refuses_unknown_roles():
    assert MessageArg(role="user", content="hi", created_at="2025-01-01T00:00:00Z").created_at == JAN_1_2025
    with pytest.raises(ValidationError) as error:
        MessageArg.model_validate({"role": "narrator", "content": "x"})
    assert error.value.errors()[0]["loc"] == ("role",)


def test_a_strategy_argument_reaches_our_strategy_with_its_custom_prompt():
    argument = StrategyArg.model_validate({"strategy": "custom", "config": {"custom_prompt": "Keep dates."}})
    strategy = MemoryStrategy.model_validate(argument.payload())
    assert (strategy.strategy, strategy.custom_prompt) == ("custom", "Keep dates.")


def test_a_strategy_argument_without_config_has_no_custom_prompt():
    assert StrategyArg(strategy="preferences").payload() == {"strategy": "preferences", "custom_prompt": None}


def test_a_custom_strategy_argument_without_a_prompt_fails_in_our_contract():
    with pytest.raises(ValidationError, match="strategy 'custom' needs a custom_prompt"):
        MemoryStrategy.model_validate(StrategyArg(strategy="custom").payload())
