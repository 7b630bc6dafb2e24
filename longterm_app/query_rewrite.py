"""`optimize_query`: the fast chat model rewrites a user's request into a search query.

The client asks for it explicitly (it costs a model call on the request path). Without a
chat model, or when the model fails, the search runs with the text as given and the
caller gets a warning saying why: the request never fails for want of a rewrite.
"""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async

from longterm_app.schemas import SearchRequest
from providers.llm import (
    ChatMessage,
    ModelOutputInvalid,
    ModelUnavailable,
    chat_model_status,
    get_chat_model,
)

logger = logging.getLogger(__name__)

PROMPT = (
    "Rewrite the user's request as a short query for searching their stored memories: keep names, "
    "dates, places and key nouns, drop filler and politeness. Answer with the query only."
)


def _rewrite(text: str) -> tuple[str, str | None]:
    configured, detail = chat_model_status("fast")
    if not configured:
        return text, f"optimize_query ignored: {detail}"
    try:
        result = get_chat_model("fast").complete(
            [ChatMessage("system", PROMPT), ChatMessage("user", text)],
            task="query_optimization",
            max_tokens=100,
        )
    except (ModelUnavailable, ModelOutputInvalid) as error:
        logger.warning("Query optimisation failed, searching with the text as given: %s", error.detail)
        return text, "optimize_query ignored: the chat model failed"
    return result.text.strip() or text, None


async def optimized(search: SearchRequest) -> tuple[SearchRequest, str | None]:
    """The search with its text rewritten, and a warning when the rewrite did not happen."""
    if not search.text.strip():
        return search, None
    text, warning = await sync_to_async(_rewrite, thread_sensitive=False)(search.text)
    return search.model_copy(update={"text": text}), warning
