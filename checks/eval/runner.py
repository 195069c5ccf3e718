"""One nightly evaluation: every configured RAG service, one after the other.

Per service: knowledge base -> testset (reused or generated) -> agent answers -> Giskard's
LLM-judged correctness plus token F1 -> scores JSON, self-contained HTML report with a trend
plot -> history row -> regression check. Then, once for all services: the Prometheus textfile,
the alert webhook (if anything regressed) and the Langfuse upload (if configured).

Import this module only after :func:`somatrace.checks.eval.offline.enforce_offline` (the
command does it): Giskard and litellm read their switches at import time.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import traceback
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from giskard.rag import evaluate

from somatrace.checks.eval import alerts, langfuse_upload
from somatrace.checks.eval.agent import adapt, load_agent
from somatrace.checks.eval.config import EvalConfig, ServiceConfig
from somatrace.checks.eval.embeddings import SentenceTransformerEmbedding
from somatrace.checks.eval.history import (
    STATUS_ERROR,
    STATUS_OK,
    STATUS_REGRESSION,
    History,
    RunRecord,
)
from somatrace.checks.eval.html_report import summary_section, write_report
from somatrace.checks.eval.knowledge import load_chunks
from somatrace.checks.eval.llm_client import make_client
from somatrace.checks.eval.overlap import AnswerOverlapMetric
from somatrace.checks.eval.scores import scores_from_report
from somatrace.checks.eval.testsets import build_knowledge_base, load_or_generate
from somatrace.checks.eval.trend import plot_trend
from somatrace.checks.runtime.llm_server import LLMEndpoint

log = logging.getLogger("somatrace.eval")


@dataclass
class ServiceResult:
    service: str
    run_id: str
    status: str
    testset_id: str = ""
    reused_testset: bool = False
    scores: dict[str, Any] = field(default_factory=dict)
    flat_scores: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
    regressions: list[alerts.Regression] = field(default_factory=list)
    report_dir: Path | None = None
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    testset_records: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "run_id": self.run_id,
            "status": self.status,
            "testset_id": self.testset_id,
            "reused_testset": self.reused_testset,
            "scores": self.scores,
            "flat_scores": self.flat_scores,
            "baseline": self.baseline,
            "regressions": alerts.regression_dicts(self.regressions),
            "report_dir": str(self.report_dir) if self.report_dir else "",
            "message": self.message,
            "timings_seconds": {k: round(v, 3) for k, v in self.timings.items()},
        }


@dataclass
class RunSummary:
    results: list[ServiceResult]
    textfile: Path
    webhook: str = ""
    langfuse: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[alerts.Regression]:
        return [r for result in self.results for r in result.regressions]

    @property
    def exit_code(self) -> int:
        """0 every service passed, 1 a regression, 2 an evaluation or alerting error."""
        if self.errors or any(r.status == STATUS_ERROR for r in self.results):
            return 2
        return 1 if self.regressions else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "services": [r.to_dict() for r in self.results],
            "textfile": str(self.textfile),
            "webhook": self.webhook,
            "langfuse": self.langfuse,
            "errors": self.errors,
        }


def new_run_id(moment: datetime) -> str:
    return f"{moment.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def evaluate_service(
    config: EvalConfig,
    service: ServiceConfig,
    *,
    endpoint: LLMEndpoint,
    embedding: SentenceTransformerEmbedding,
    history: History,
    regenerate_testset: bool = False,
) -> ServiceResult:
    started = datetime.now(UTC)
    result = ServiceResult(service.name, new_run_id(started), STATUS_ERROR)
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        result.timings[name] = now - clock
        clock = now

    try:
        client = make_client(config.llm, endpoint)
        chunks = load_chunks(service.knowledge_base, service.chunk_chars)
        knowledge_base = build_knowledge_base(
            chunks, llm_client=client, embedding_model=embedding, seed=config.llm.seed
        )
        lap("knowledge_base")
        stored = load_or_generate(
            service,
            knowledge_base,
            testsets_dir=config.testsets_dir,
            language=config.language,
            llm_client=client,
            regenerate=regenerate_testset,
        )
        result.testset_id, result.reused_testset = stored.testset_id, stored.reused
        result.testset_records = langfuse_upload.testset_records_from_frame(
            stored.testset.to_pandas()
        )
        lap("testset_reuse" if stored.reused else "testset_generation")
        answer_fn = adapt(load_agent(service.agent, service.agent_path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            report = evaluate(
                answer_fn,
                testset=stored.testset,
                knowledge_base=knowledge_base,
                llm_client=client,
                agent_description=service.description,
                metrics=[AnswerOverlapMetric()],
            )
        lap("evaluation")
    except Exception as exc:  # one broken service must not stop the others
        result.message = f"{type(exc).__name__}: {exc}"
        log.error("evaluation of %s failed:\n%s", service.name, traceback.format_exc())
        history.append(
            RunRecord(
                run_id=result.run_id, service=service.name, testset_id=result.testset_id or "-",
                started_at=started, finished_at=datetime.now(UTC), status=STATUS_ERROR,
                num_questions=0, scores={}, message=result.message,
            )
        )  # fmt: skip
        return result

    scores = scores_from_report(report)
    result.scores = scores.to_dict()
    result.flat_scores = scores.flatten()
    result.baseline = history.baseline(
        service.name, stored.testset_id, mode=config.baseline, window=config.baseline_window
    )
    result.regressions = alerts.find_regressions(
        service.name,
        result.flat_scores,
        result.baseline,
        threshold=config.regression_threshold,
        mode=config.regression_mode,
        watch=config.watch,
    )
    result.status = STATUS_REGRESSION if result.regressions else STATUS_OK
    run_dir = config.output_dir / service.name / result.run_id
    result.report_dir = run_dir
    history.append(
        RunRecord(
            run_id=result.run_id, service=service.name, testset_id=stored.testset_id,
            started_at=started, finished_at=datetime.now(UTC), status=result.status,
            num_questions=scores.num_questions, scores=result.flat_scores,
            report_dir=str(run_dir),
            message="; ".join(r.describe() for r in result.regressions),
        )
    )  # fmt: skip
    _write_outputs(report, result, run_dir, history)
    lap("report")
    return result


def _write_outputs(report: Any, result: ServiceResult, run_dir: Path, history: History) -> None:
    giskard_dir = run_dir / "giskard"
    report.save(str(giskard_dir))  # testset, answers, metrics, knowledge base: reloadable
    # Giskard's own report.html loads BokehJS from a CDN; keep only the self-contained one.
    (giskard_dir / "report.html").unlink(missing_ok=True)
    trend = plot_trend(history, result.service, run_dir / "trend.png")
    summary = summary_section(
        service=result.service,
        run_id=result.run_id,
        testset_id=result.testset_id,
        reused_testset=result.reused_testset,
        scores=result.scores,
        regressions=alerts.regression_dicts(result.regressions),
        baseline=result.baseline,
        trend_png=trend,
    )
    write_report(report.to_html(), summary, run_dir / "report.html")
    scores_json = json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
    (run_dir / "scores.json").write_text(scores_json, encoding="utf-8")
    (run_dir.parent / "latest.json").write_text(scores_json, encoding="utf-8")


def run_all(
    config: EvalConfig,
    services: Sequence[ServiceConfig],
    *,
    endpoint: LLMEndpoint,
    regenerate_testset: bool = False,
) -> RunSummary:
    history = History(config.history)
    embedding = SentenceTransformerEmbedding(config.embeddings.model, config.embeddings.batch_size)
    results = []
    for service in services:
        # Marks the evaluation in progress, so a night that runs long is not taken as stale.
        alerts.write_metrics(config, history, started={service.name: datetime.now(UTC)})
        results.append(
            evaluate_service(
                config,
                service,
                endpoint=endpoint,
                embedding=embedding,
                history=history,
                regenerate_testset=regenerate_testset,
            )
        )
    summary = RunSummary(results, config.textfile)
    alerts.write_metrics(config, history)
    _send_alerts(config, summary)
    _upload_langfuse(config, summary)
    (config.output_dir / "last_run.json").write_text(
        json.dumps(summary.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return summary


def _send_alerts(config: EvalConfig, summary: RunSummary) -> None:
    regressions = summary.regressions
    if not regressions:
        summary.webhook = "no regression: nothing sent"
        return
    if not config.alerts.webhook_url:
        summary.webhook = "regression found; no webhook_url configured"
        return
    reports = [str(r.report_dir / "report.html") for r in summary.results if r.regressions]
    payload = alerts.webhook_payload(
        regressions,
        fmt=config.alerts.webhook_format,
        report_url=Path(reports[0]).as_uri() if reports else "",
    )
    try:
        status = alerts.post_webhook(
            config.alerts.webhook_url, payload, timeout=config.alerts.webhook_timeout
        )
        summary.webhook = f"posted {len(regressions)} alert(s): HTTP {status}"
    except alerts.WebhookError as exc:
        summary.webhook = f"failed: {exc}"
        summary.errors.append(str(exc))


def _upload_langfuse(config: EvalConfig, summary: RunSummary) -> None:
    for result in summary.results:
        if result.status == STATUS_ERROR:
            continue
        try:
            outcome = langfuse_upload.upload(
                config.langfuse,
                service=result.service,
                run_id=result.run_id,
                testset_id=result.testset_id,
                testset_records=result.testset_records,
                scores=result.flat_scores,
            )
        except Exception as exc:  # the upload is a copy; the local history is the record
            outcome = f"failed: {type(exc).__name__}: {exc}"
            summary.errors.append(f"Langfuse upload of {result.service}: {outcome}")
        summary.langfuse.append(f"{result.service}: {outcome}")
