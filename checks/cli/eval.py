"""``somatrace eval``: the nightly RAG-quality evaluation (Giskard RAGET) and its history.

    somatrace eval run --config eval.toml [--service NAME]... [--llm-base-url URL]
    somatrace eval history --config eval.toml [--service NAME] [--metric NAME] [--json]
    somatrace eval metrics --config eval.toml      # rewrite the Prometheus textfile only

``run`` exits 0 when every service passed, 1 when a watched score regressed (the alert went
out), 2 on a configuration, evaluation or alerting error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import traceback
from pathlib import Path

from somatrace.checks.cli.options import add_llm_url, add_output_format
from somatrace.checks.eval.config import EvalConfig, load_config
from somatrace.checks.lint.errors import UsageError


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="eval_command", metavar="ACTION")
    sub.required = True

    run = sub.add_parser("run", help="evaluate the configured RAG services now")
    _config_option(run)
    run.add_argument(
        "--service", action="append", default=[], metavar="NAME",
        help="evaluate only this service (repeatable; default: all)",
    )  # fmt: skip
    add_llm_url(
        run, "llm_base_url",
        "an OpenAI-compatible endpoint to use instead of the config's (e.g. a running "
        "llama.cpp server); default: the config's, else the embedded SmolLM2 server",
    )  # fmt: skip
    run.add_argument(
        "--regenerate-testset", action="store_true",
        help="generate new testsets even if saved ones match (starts a new baseline)",
    )  # fmt: skip
    add_output_format(run, "text, or the run summary as JSON")
    run.add_argument("-v", "--verbose", action="store_true", help="show Giskard's progress logs")

    history = sub.add_parser("history", help="show past runs and score trends")
    _config_option(history)
    history.add_argument("--service", default=None, metavar="NAME")
    history.add_argument("--metric", default="correctness", metavar="NAME")
    history.add_argument("--limit", type=int, default=20)
    add_output_format(history, "text, or JSON")

    metrics = sub.add_parser("metrics", help="rewrite the Prometheus textfile from the history")
    _config_option(metrics)


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=Path("eval.toml"), metavar="PATH",
        help="eval config: a TOML file with [eval], or a pyproject.toml with "
        "[tool.somatrace.eval] (default: ./eval.toml)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.eval_command == "run":
        return _run(config, args)
    if args.eval_command == "history":
        return _history(config, args)
    return _metrics(config)


def _run(config: EvalConfig, args: argparse.Namespace) -> int:
    from somatrace.checks.eval.offline import enforce_offline

    enforce_offline()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    services = [config.service(name) for name in args.service] or list(config.services)
    try:
        from somatrace.checks.eval.runner import run_all
    except ImportError as exc:
        raise UsageError(
            f"somatrace eval needs the 'eval' extra (pip install 'somatrace[eval]'): {exc}"
        ) from exc
    from somatrace.checks.runtime.llm_server import LLMEndpoint, LLMServerError, llm_endpoint

    base_url = args.llm_base_url or config.llm.base_url or None
    try:
        if base_url or config.llm.local:
            # An OpenAI-compatible URL (checked now), or the embedded SmolLM2 server.
            model = config.llm.model.removeprefix("openai/")
            endpoint = llm_endpoint(base_url, model=model, api_key=config.llm.api_key())
        else:
            # A hosted model reached by litellm's own routing ("anthropic/...", "openai/gpt-4o").
            hosted = LLMEndpoint("", config.llm.model, config.llm.api_key() or "", local=False)
            endpoint = contextlib.nullcontext(hosted)
        with endpoint as llm:
            summary = run_all(
                config, services, endpoint=llm, regenerate_testset=args.regenerate_testset
            )
    except LLMServerError as exc:
        raise UsageError(str(exc)) from exc
    except UsageError:
        raise
    except Exception:  # exit 1 means "regression": anything unexpected must not look like one
        traceback.print_exc()
        print("somatrace: error: the evaluation failed unexpectedly (above)", file=sys.stderr)
        return 2

    if args.output_format == "json":
        print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_summary(summary)
    return summary.exit_code


def _print_summary(summary: object) -> None:
    data = summary.to_dict()  # type: ignore[attr-defined]
    for service in data["services"]:
        scores = service["scores"]
        line = f"{service['service']}: {service['status']}"
        if scores:
            line += (
                f"  correctness={scores['correctness']:.3f}"
                f"  answer_f1={scores['metrics'].get('answer_f1', float('nan')):.3f}"
                f"  questions={scores['num_questions']}"
                f"  testset={service['testset_id']}"
                f" ({'reused' if service['reused_testset'] else 'new'})"
            )
        print(line)
        for regression in service["regressions"]:
            print(f"  REGRESSION {regression['message']}")
        if service["message"] and not service["regressions"]:
            print(f"  {service['message']}")
        if service["report_dir"]:
            print(f"  report: {Path(service['report_dir']) / 'report.html'}")
    print(f"alerts: {data['webhook']}")
    print(f"metrics: {data['textfile']}")
    for line in data["langfuse"]:
        print(f"langfuse: {line}")
    for error in data["errors"]:
        print(f"error: {error}", file=sys.stderr)


def _history(config: EvalConfig, args: argparse.Namespace) -> int:
    from somatrace.checks.eval.history import History

    if not config.history.exists():
        raise UsageError(f"no evaluation history yet at {config.history}")
    history = History(config.history)
    runs = history.runs(args.service, limit=args.limit)
    if args.output_format == "json":
        rows = [
            {
                "run_id": r.run_id,
                "service": r.service,
                "testset_id": r.testset_id,
                "finished_at": r.finished_at.isoformat(),
                "status": r.status,
                "num_questions": r.num_questions,
                "scores": dict(r.scores),
                "message": r.message,
            }
            for r in runs
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for r in runs:
        value = r.scores.get(args.metric)
        shown = f"{value:.3f}" if value is not None else "-"
        print(
            f"{r.finished_at:%Y-%m-%d %H:%M}Z  {r.service:<24} {r.status:<10} "
            f"{args.metric}={shown}  {r.testset_id}"
        )
    return 0


def _metrics(config: EvalConfig) -> int:
    from somatrace.checks.eval import alerts
    from somatrace.checks.eval.history import History

    alerts.write_metrics(config, History(config.history))
    print(f"wrote {config.textfile}")
    return 0
