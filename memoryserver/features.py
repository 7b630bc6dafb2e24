"""Which model-backed features are on, and why not: for /info, the console and the logs.

Checks settings and installed packages only, never the network.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

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


def _bertopic() -> Feature:
    if settings.TOPIC_MODEL_SOURCE != "bertopic":
        return Feature(enabled=False, detail="TOPIC_MODEL_SOURCE is 'llm'")
    if importlib.util.find_spec("bertopic") is None:
        return Feature(enabled=False, detail="bertopic is not installed: pip install -r requirements/ml.txt")
    return Feature(enabled=True, detail="BERTopic fitted on the stored memories' embeddings")


def _local_ner() -> Feature:
    path = settings.NER_MODEL_PATH
    if not path:
        return Feature(enabled=False, detail="NER_MODEL_PATH is not set (entities come from the chat model)")
    if not Path(path).is_dir():
        return Feature(enabled=False, detail=f"NER_MODEL_PATH {path} is not a directory")
    if importlib.util.find_spec("transformers") is None:
        return Feature(
            enabled=False, detail="transformers is not installed: pip install -r requirements/ml.txt"
        )
    return Feature(enabled=True, detail=f"transformers NER model at {path}")


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
        "bertopic": _bertopic(),
        "local_ner": _local_ner(),
    }
