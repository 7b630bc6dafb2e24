"""Which model-backed features are on, and why not: for /info, the console and the logs.

Checks settings and installed packages only, never the network.
"""

from __future__ import annotations

import re

from django.conf import settings
from pydantic import BaseModel

from memoryserver.llm import chat_model_status


class Feature(BaseModel):
    enabled: bool
    detail: str


def _switch(name: str, setting: str, model_on: bool, model_detail: str) -> Feature:
    if not getattr(settings, setting):
        return Feature(enabled=False, detail=f"{name} is switched off ({setting}=false)")
    if not model_on:
        return Feature(enabled=False, detail=f"{name} needs a chat model: {model_detail}")
    return Feature(enabled=True, detail=f"{name} by {model_detail}")


def _not_in_this_version(what: str, setting: str, value: object) -> Feature:
    if value:
        return Feature(enabled=False, detail=f"{setting} is set, but {what} is not available in this version")
    return Feature(
        enabled=False, detail=f"{what} is not available in this version (the chat model tags instead)"
    )


def feature_status() -> dict[str, Feature]:
    model_on, model_detail = chat_model_status()
    summarisation = (
        Feature(enabled=True, detail=f"summaries by {model_detail}")
        if model_on
        else Feature(enabled=False, detail=f"summaries need a chat model: {model_detail}")
    )
    compaction = Feature(
        enabled=True,
        detail=(
            f"exact duplicates merged; near duplicates merged by {model_detail}"
            if model_on
            else "exact duplicates merged; near duplicates only reported (no chat model)"
        ),
    )
    return {
        "chat_model": Feature(enabled=model_on, detail=model_detail),
        "summarization": summarisation,
        "extraction": _switch(
            "memory extraction", "ENABLE_DISCRETE_MEMORY_EXTRACTION", model_on, model_detail
        ),
        "topics": _switch("topic tagging", "ENABLE_TOPIC_EXTRACTION", model_on, model_detail),
        "entities": _switch("entity tagging", "ENABLE_NER", model_on, model_detail),
        "compaction": compaction,
        "bertopic": _not_in_this_version(
            "BERTopic topic modelling",
            "TOPIC_MODEL_SOURCE=bertopic",
            settings.TOPIC_MODEL_SOURCE == "bertopic",
        ),
        "local_ner": _not_in_this_version("local NER", "NER_MODEL_PATH", settings.NER_MODEL_PATH),
    }


def needs_chat_model(feature: Feature) -> bool:
    """Off only because no chat model is usable."""
    return not feature.enabled and re.search(r"needs? a chat model:", feature.detail) is not None


def features_off_summary() -> str | None:
    """One line naming every feature that is off and why: the missing chat model said once."""
    features = feature_status()
    chat = features.pop("chat_model")
    waiting = [name for name, feature in features.items() if needs_chat_model(feature)]
    parts = [f"{', '.join(waiting)} need a chat model, and none is usable: {chat.detail}"] if waiting else []
    parts += [
        f"{name}: {feature.detail}"
        for name, feature in features.items()
        if not feature.enabled and name not in waiting
    ]
    return "Features off: " + " | ".join(parts) if parts else None
