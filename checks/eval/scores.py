"""Scores of one evaluation, out of Giskard's ``RAGReport``, as plain numbers.

``flatten`` turns them into the metric names the history, the regression check and the
Prometheus file use: ``correctness``, ``answer_f1``, ``question_type.<type>``,
``component.<COMPONENT>``, ``topic.<topic>``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from giskard.rag import RAGReport
from giskard.rag.question_generators import QUESTION_ATTRIBUTION, RAGComponents

from somatrace.checks.eval.overlap import METRIC_NAME as OVERLAP_METRIC


@dataclass(frozen=True)
class Scores:
    correctness: float
    metrics: dict[str, float]  # extra metrics' means, e.g. answer_f1
    by_question_type: dict[str, float]
    by_component: dict[str, float]  # only components that a question type of the testset tests
    by_topic: dict[str, float]
    untested_components: list[str] = field(default_factory=list)
    num_questions: int = 0

    def flatten(self) -> dict[str, float]:
        flat = {"correctness": self.correctness, **self.metrics}
        flat.update({f"question_type.{k}": v for k, v in self.by_question_type.items()})
        flat.update({f"component.{k}": v for k, v in self.by_component.items()})
        flat.update({f"topic.{k}": v for k, v in self.by_topic.items()})
        return flat

    def to_dict(self) -> dict[str, Any]:
        return {
            "correctness": self.correctness,
            "metrics": self.metrics,
            "by_question_type": self.by_question_type,
            "by_component": self.by_component,
            "untested_components": self.untested_components,
            "by_topic": self.by_topic,
            "num_questions": self.num_questions,
        }


def _column(frame: Any, column: str) -> dict[str, float]:
    return {str(index): float(value) for index, value in frame[column].items()}


def scores_from_report(report: RAGReport) -> Scores:
    by_type = _column(report.correctness_by_question_type(), "correctness")
    # Giskard scores a component that no question tested as 1.0; keep only tested ones so a
    # missing question type can neither hide nor fake a regression.
    tested = {
        component.name
        for component, types in QUESTION_ATTRIBUTION.items()
        if set(types) & set(by_type)
    } | {RAGComponents.KNOWLEDGE_BASE.name}
    components = _column(report.component_scores(), "score")
    frame = report.to_pandas()
    metrics = {}
    for name in report.metric_names:
        values = [float(v) for v in frame[name] if v is not None and not _nan(v)]
        if values:
            metrics[name] = sum(values) / len(values)
    return Scores(
        correctness=float(report.correctness),
        metrics=metrics,
        by_question_type=by_type,
        by_component={k: v for k, v in components.items() if k in tested},
        untested_components=sorted(k for k in components if k not in tested),
        by_topic=_column(report.correctness_by_topic(), "correctness"),
        num_questions=len(frame),
    )


def _nan(value: Any) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


__all__ = ["OVERLAP_METRIC", "Scores", "scores_from_report"]
