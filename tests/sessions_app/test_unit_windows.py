"""Message budgets, windows and summaries: what a client is sent, when a session is
summarised, and what the summary folds in (beyond tests/sessions_app/test_windows.py)."""

from __future__ import annotations

import pytest

from memoryserver.errors import InvalidInput
from memoryserver.tokens import count_message, count_text
from providers.llm import get_chat_model
from sessions_app.schemas import Message, WindowQuery
from sessions_app.summaries import CHUNK_TOKENS, split_for_summary, updated_summary
from sessions_app.windows import MessageBudget, fit_messages, message_budget, summary_reason
from tests.fake_openai import Reply


def numbered(count: int) -> list[Message]:
    """Messages of 4 tokens each ("message number N"), 8 with their framing (cl100k)."""
    return [Message(role="user", content=f"message number {i}") for i in range(count)]


def sized(*words: int) -> list[Message]:
    return [Message(role="user", content=f"m{i}" + " word" * n) for i, n in enumerate(words)]


def openai(max_messages: int, max_tokens: int | None = None) -> MessageBudget:
    return MessageBudget(max_messages, max_tokens, "openai")


# Budgets


def test_a_token_budget_without_a_model_counts_as_openai(settings):
    settings.WINDOW_SIZE = 9
    assert message_budget(WindowQuery(context_window_max=500)) == MessageBudget(9, 500, "openai")


def test_a_dated_model_name_takes_its_familys_window():
    assert message_budget(WindowQuery(model_name="gpt-4-0613", window_size=3)) == MessageBudget(
        3, 8_192, "openai"
    )


def test_the_unknown_model_error_lists_the_known_ones():
    with pytest.raises(InvalidInput) as caught:
        message_budget(WindowQuery(model_name="gpt-99"))
    (problem,) = caught.value.problems
    assert problem.field == "model_name"
    assert problem.message.startswith("unknown model 'gpt-99'. Known models: ")
    assert "claude-3-5-sonnet, " in problem.message and "gpt-4o, " in problem.message


# Windows


def test_without_a_token_budget_the_tokens_include_the_context():
    kept, used = fit_messages(numbered(3), openai(10), "a short summary")
    assert len(kept) == 3
    assert used == count_text("a short summary") + 3 * 8


def test_a_context_larger_than_the_budget_leaves_no_room_for_messages():
    context = "summary " * 50
    kept, used = fit_messages(numbered(3), openai(10, 20), context)
    assert kept == [] and used == count_text(context)


def test_the_message_count_limits_the_window_before_tokens_do():
    kept, used = fit_messages(numbered(10), openai(2, 10_000), None)
    assert [m.content for m in kept] == ["message number 8", "message number 9"] and used == 16


def test_a_large_message_ends_the_window_even_if_older_ones_would_fit():
    messages = sized(1, 500, 1)
    kept, _ = fit_messages(messages, openai(10, 100), None)
    assert kept == messages[2:]


def test_anthropic_messages_cost_more_so_fewer_fit_the_same_budget():
    # 8 tokens per message for OpenAI; ceil(4 * 1.2) + 4 = 9 for Anthropic.
    assert len(fit_messages(numbered(5), MessageBudget(10, 26, "openai"), None)[0]) == 3
    kept, used = fit_messages(numbered(5), MessageBudget(10, 26, "anthropic"), None)
    assert len(kept) == 2 and used == 18


# When to summarise


def test_the_message_count_is_the_reason_given_when_both_limits_are_passed(settings):
    settings.SUMMARIZATION_THRESHOLD = 0.5
    assert summary_reason(numbered(5), None, openai(4, 10)) == "5 messages exceed the window of 4"


def test_the_context_counts_towards_the_summary_threshold(settings):
    settings.SUMMARIZATION_THRESHOLD = 0.5
    budget = openai(10, 64)  # threshold: 32 tokens
    assert summary_reason(numbered(4), None, budget) is None  # exactly 32: not past it
    context = "summary so far"
    tokens = 32 + count_text(context)
    assert summary_reason(numbered(4), context, budget) == f"{tokens} tokens exceed 32 (50% of 64)"


def test_without_a_token_budget_only_the_message_count_matters():
    assert summary_reason(sized(5000, 5000), "summary " * 1000, openai(2)) is None


# What a summary folds in


def test_a_summary_keeps_the_newest_half_of_the_window():
    messages = numbered(9)
    fold, kept = split_for_summary(messages, openai(5))
    assert kept == messages[-2:] and fold == messages[:-2]


def test_a_summary_keeps_the_newest_message_even_when_it_alone_passes_the_token_room():
    messages = sized(10, 10, 400)
    fold, kept = split_for_summary(messages, openai(10, 100))
    assert kept == messages[-1:] and fold == messages[:-1]


def test_a_summary_keeps_fewer_anthropic_messages_within_the_same_token_room():
    messages = numbered(10)
    _, openai_kept = split_for_summary(messages, MessageBudget(100, 52, "openai"))  # 26 tokens of room
    _, anthropic_kept = split_for_summary(messages, MessageBudget(100, 52, "anthropic"))
    assert (len(openai_kept), len(anthropic_kept)) == (3, 2)


def test_an_empty_session_has_nothing_to_fold():
    assert split_for_summary([], openai(4, 100)) == ([], [])


def chat_prompts(server) -> list[str]:
    return [body["messages"][-1]["content"] for body in server.bodies("/v1/chat/completions")]


def test_folding_no_messages_calls_no_model(chat_model):
    assert updated_summary(get_chat_model(), "kept as is", []) == "kept as is"
    assert updated_summary(get_chat_model(), None, []) == ""
    assert chat_prompts(chat_model) == []


def test_a_long_backlog_is_folded_in_chunks_each_building_on_the_last_summary(chat_model):
    big = sized(4000, 4000, 10)  # two chunks of their own, the small one joins the second
    assert count_message(big[0].content) < CHUNK_TOKENS < count_message(big[0].content) * 2
    chat_model.push(Reply.text("first summary"), Reply.text("second summary"))
    assert updated_summary(get_chat_model(), None, big) == "second summary"
    first, second = chat_prompts(chat_model)
    assert first.startswith("Current summary:\n(none yet)") and "m0 word" in first and "m1 word" not in first
    assert (
        second.startswith("Current summary:\nfirst summary") and "user: m1" in second and "user: m2" in second
    )


def test_a_message_larger_than_a_chunk_is_sent_alone_not_dropped(chat_model):
    huge = sized(CHUNK_TOKENS + 100)
    chat_model.push(Reply.text("summary of a long message"))
    assert updated_summary(get_chat_model(), "before", huge) == "summary of a long message"
    (prompt,) = chat_prompts(chat_model)
    assert "user: m0 word" in prompt


def test_an_empty_model_answer_keeps_the_summary_it_had(chat_model):
    chat_model.push(Reply.text("   "))
    assert updated_summary(get_chat_model(), "the old summary", numbered(2)) == "the old summary"
