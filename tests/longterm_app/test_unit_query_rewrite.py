"""optimize_query: the search text rewritten by the fast chat model, or left as given with a
warning saying why, never a failed search. The model is the scripted fake server."""

from __future__ import annotations

import asyncio

import pytest

from longterm_app.query_rewrite import optimized
from longterm_app.schemas import SearchRequest
from providers.llm import reset_chat_models
from tests.fake_openai import Reply

QUESTION = "Hey, could you please remind me what my sister does for a living?"


@pytest.fixture
def no_model(settings):
    """No chat model configured, whatever the environment says."""
    settings.GENERATION_MODEL = "gpt-4o-mini"
    settings.FAST_MODEL = None
    settings.LLM_PROVIDER = "auto"
    settings.OPENAI_API_KEY = settings.OPENAI_API_BASE = None
    settings.ANTHROPIC_API_KEY = settings.ANTHROPIC_API_BASE = None
    reset_chat_models()
    yield settings
    reset_chat_models()


def rewrite(text: str, **fields: object) -> tuple[SearchRequest, str | None]:
    return asyncio.run(optimized(SearchRequest.model_validate({"text": text, **fields})))


def test_without_a_model_the_text_is_searched_as_given_with_the_reason(no_model):
    search, warning = rewrite(QUESTION, limit=3)
    assert (search.text, search.limit) == (QUESTION, 3)
    assert warning is not None and warning.startswith("optimize_query ignored: ")
    assert "OPENAI_API_KEY or OPENAI_API_BASE" in warning


def test_an_empty_text_needs_no_rewrite_and_no_warning(no_model):
    assert rewrite("   ") == (SearchRequest(text="   "), None)


def test_the_fast_model_rewrites_the_text_and_keeps_the_rest_of_the_search(chat_model):
    chat_model.push(Reply.text("  sister job  "))
    search, warning = rewrite(QUESTION, search_mode="keyword", user_id={"eq": "u"})
    assert (search.text, search.search_mode, warning) == ("sister job", "keyword", None)
    assert search.user_id is not None and search.user_id.eq == "u"
    sent = chat_model.bodies("/v1/chat/completions")[-1]
    assert sent["messages"][-1]["content"] == QUESTION


def test_a_blank_rewrite_keeps_the_original_text(chat_model):
    chat_model.push(Reply.text("   "))
    assert rewrite(QUESTION)[0].text == QUESTION


def test_a_failing_model_leaves_the_text_and_warns_that_it_failed(chat_model, settings):
    settings.LLM_MAX_RETRIES = 0
    reset_chat_models()
    chat_model.push(Reply.error(500, "down"))
    search, warning = rewrite(QUESTION)
    assert (search.text, warning) == (QUESTION, "optimize_query ignored: the chat model failed")
