"""Words that do not drive keyword matching of a search text.

The index keeps RediSearch's 33 default English stop-words out; a query also drops the
common English function words below and the words that make a sentence a question ("what
did", "when was"), so a question matches memories by what it is about. Measured on the
LoCoMo recall benchmark (bench/locomo_recall.py): keyword recall@10 0.573 → 0.604.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Common English function words (the widely used NLTK list).
FUNCTION_WORDS = _words(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom
    this that these those am is are was were be been being have has had having do does did doing
    a an the and but if or because as until while of at by for with about against between into
    through during before after above below to from up down in out on off over under again
    further then once here there when where why how all any both each few more most other some
    such no nor not only own same so than too very s t can will just don should now d ll m o re
    ve y ain aren couldn didn doesn hadn hasn haven isn ma mightn mustn needn shan shouldn wasn
    weren won wouldn
    """
)
# Words that make a sentence a question or a request rather than say what it is about.
QUESTION_WORDS = _words(
    """
    what when where who whom whose which why how did does do done has have had was were is are
    would could should can will might may
    """
)
QUERY_STOPWORDS = FUNCTION_WORDS | QUESTION_WORDS
