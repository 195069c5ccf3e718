"""``somatrace smoke``: a real LLM call by a real traced service, checked span by span.

    somatrace smoke                                   # the example service, one workflow
    somatrace smoke --workflows 100 --tenants 5 --report-dir smoke-report
    somatrace smoke --script services/x/smoke.py --llm-url http://127.0.0.1:8080/v1

Exit codes: 0 every check passed, 1 a check failed (the messages name the span and the
attribute), 2 the run could not prove anything (bad option, port in use, the LLM server did
not start or died, receiver unreachable), 130 interrupted (everything started was stopped).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from somatrace.checks.lint.errors import UsageError


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return value


def _assignment(text: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name.strip(), value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run smoke script(s) against a local LLM and an OTLP receiver, and prove every LLM "
        "call produced a span with the tags, model, tokens, cost and service name, and "
        "without the prompt or completion."
    )
    parser.add_argument(
        "--script", action="append", type=Path, default=None, metavar="PATH",
        help="smoke script to run (repeatable; default: scripts/observability/trace_smoke.py)",
    )  # fmt: skip
    parser.add_argument(
        "--workflows", type=int, default=1, metavar="N",
        help="workflows each script runs (default: 1)",
    )  # fmt: skip
    parser.add_argument(
        "--tenants", type=int, default=1, metavar="T",
        help="tenants the workflows are spread over, round-robin (default: 1)",
    )  # fmt: skip
    parser.add_argument(
        "--model", default="smollm2",
        help="model name the scripts request; the embedded server serves SmolLM2 under it "
        "(default: smollm2, priced at the internal compute rate)",
    )  # fmt: skip
    parser.add_argument(
        "--max-tokens", type=int, default=16, metavar="N",
        help="max_tokens per LLM call (default: 16)",
    )  # fmt: skip
    parser.add_argument(
        "--llm-url", default=None, metavar="URL",
        help="an OpenAI-compatible base URL (ending in /v1) to use instead of the embedded "
        "llama.cpp server; its key is read from SOMATRACE_SMOKE_LLM_API_KEY",
    )  # fmt: skip
    parser.add_argument(
        "--llm-port", type=_port, default=None, metavar="PORT",
        help="port of the embedded LLM server on 127.0.0.1 (default: a free one)",
    )  # fmt: skip
    parser.add_argument(
        "--llm-threads", type=int, default=1, metavar="N",
        help="CPU threads of the embedded LLM server (default: 1)",
    )  # fmt: skip
    parser.add_argument(
        "--receiver-url", default=None, metavar="URL",
        help="OTLP/HTTP base URL of a running `python -m somatrace.checks.runtime.receiver` "
        "(needs --receiver-store); default: an embedded receiver",
    )  # fmt: skip
    parser.add_argument(
        "--receiver-store", type=Path, default=None, metavar="FILE",
        help="the SQLite file the --receiver-url receiver writes (its --store)",
    )  # fmt: skip
    parser.add_argument(
        "--receiver-port", type=_port, default=0, metavar="PORT",
        help="port of the embedded receiver on 127.0.0.1 (default: 0, a free one)",
    )  # fmt: skip
    parser.add_argument(
        "--receiver-profile", choices=("langfuse", "otlp"), default="langfuse",
        help="langfuse (default): the receiver enforces Langfuse's ingestion contract and the "
        "script gets LANGFUSE_HOST and a key pair; otlp: a lenient OTLP/HTTP receiver",
    )  # fmt: skip
    parser.add_argument(
        "--report-dir", type=Path, default=None, metavar="DIR",
        help="write report.json, junit.xml, cost-digest.md, latency-histogram.png, "
        "summary.txt and the scripts' logs there",
    )  # fmt: skip
    parser.add_argument(
        "--env", action="append", type=_assignment, default=[], metavar="NAME=VALUE",
        help="extra environment for the scripts (repeatable), e.g. the service's deploy "
        "settings; inherited OTEL_*, TRACELOOP_*, TRACE_CONTENT*, SOMATRACE_*, LANGFUSE_* and "
        "OPENAI_* variables are not passed on",
    )  # fmt: skip
    parser.add_argument(
        "--span-timeout", type=_positive_float, default=10.0, metavar="SECONDS",
        help="how long to wait for the spans after a script exits (default: 10)",
    )  # fmt: skip
    parser.add_argument(
        "--script-timeout", type=_positive_float, default=900.0, metavar="SECONDS",
        help="how long a script may run (default: 900)",
    )  # fmt: skip
    parser.add_argument(
        "--llm-startup-timeout", type=_positive_float, default=120.0, metavar="SECONDS",
        help="how long the embedded LLM server may take to start (default: 120)",
    )  # fmt: skip
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")


def run(args: argparse.Namespace) -> int:
    from somatrace.checks.smoke.runner import (
        DEFAULT_SCRIPT,
        SmokeOptions,
        SmokeSetupError,
        run_smoke,
    )

    options = SmokeOptions(
        scripts=list(args.script or [DEFAULT_SCRIPT]),
        workflows=args.workflows,
        tenants=args.tenants,
        model=args.model,
        max_tokens=args.max_tokens,
        llm_url=args.llm_url,
        llm_port=args.llm_port,
        llm_threads=args.llm_threads,
        llm_startup_timeout=args.llm_startup_timeout,
        receiver_url=args.receiver_url,
        receiver_store=args.receiver_store,
        receiver_port=args.receiver_port,
        receiver_profile=args.receiver_profile,
        span_timeout=args.span_timeout,
        script_timeout=args.script_timeout,
        extra_env=dict(args.env),
        logs_dir=args.report_dir / "logs" if args.report_dir else None,
    )

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"somatrace smoke: {message}", file=sys.stderr, flush=True)

    try:
        result = run_smoke(options, progress)
    except SmokeSetupError as error:
        raise UsageError(f"smoke: {error}") from None

    from somatrace.checks.smoke import report_text

    sys.stdout.write(report_text.render(result))
    if args.report_dir is not None:
        from somatrace.checks.smoke.reports import write_reports

        written = write_reports(result, args.report_dir)
        progress("reports: " + ", ".join(str(path) for path in written.values()))
    return 0 if result.ok else 1
