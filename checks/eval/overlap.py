"""A deterministic companion to Giskard's LLM-judged correctness: token F1 between the agent's
answer and the reference answer (SQuAD-style, stop words removed).

An LLM judge is only as good as its model; with the embedded 135M SmolLM2 its verdicts are
close to noise. Token F1 needs no model, is reproducible, and still drops sharply when an
agent stops retrieving the right passage, so a regression of retrieval or generation shows
in it whatever judge is configured.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

METRIC_NAME = "answer_f1"

_STOP_WORDS_TEXT = """
a an and are as at be been but by can could did do does for from had has have how i if in
into is it its it's may might me my no not of on or our shall should so than that the
their them then there these they this those to was we were what when where which who whom
why will with would you your
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def tokens(text: str) -> list[str]:
    normalised = unicodedata.normalize("NFKC", text).lower()
    return [t for t in _TOKEN.findall(normalised) if t not in STOP_WORDS]


def token_f1(answer: str, reference: str) -> float:
    """Harmonic mean of token precision and recall; 1.0 when both are empty of content words."""
    got, want = tokens(answer), tokens(reference)
    if not got and not want:
        return 1.0
    if not got or not want:
        return 0.0
    common = sum((Counter(got) & Counter(want)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


class AnswerOverlapMetric:
    """A Giskard RAGET metric: called with (question sample, agent answer), returns a dict."""

    name = METRIC_NAME

    def __call__(self, question_sample: object, answer: object) -> dict[str, float]:
        reference = str(_field(question_sample, "reference_answer"))
        message = str(getattr(answer, "message", answer))
        return {METRIC_NAME: token_f1(message, reference)}


def _field(sample: object, name: str) -> object:
    # evaluate() passes numpy records (item access); tests and users may pass dicts.
    try:
        return sample[name]  # type: ignore[index]
    except (TypeError, KeyError, IndexError, ValueError):
        return getattr(sample, name)
