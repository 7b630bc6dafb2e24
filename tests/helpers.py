"""Small builders shared by tests."""

from __future__ import annotations

from typing import Any


def conversation(count: int, words: int = 8, prefix: str = "message") -> list[dict[str, Any]]:
    """`count` alternating user/assistant messages with distinct, ordered contents."""
    roles = ("user", "assistant")
    return [
        {"role": roles[i % 2], "content": f"{prefix} {i} " + " ".join(["word"] * words)} for i in range(count)
    ]
