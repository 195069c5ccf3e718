"""``somatrace digest``: yesterday's LLM cost per tenant (and per workflow and model), exact,
delivered to FinOps through the notification service or by e-mail.

    somatrace digest --prometheus-url http://prometheus:9090 --webhook-url URL
    somatrace digest --spans-db spans.db --date 2026-11-20 --smtp-host mail --mail-to finops@x
    somatrace digest ... --json            # print the digest document as well

Every option can also come from the environment (``SOMATRACE_DIGEST_<OPTION>``, e.g.
``SOMATRACE_DIGEST_WEBHOOK_URL``), which the CronJob uses. Exit codes: 0 delivered (or printed),
2 a usage, source or delivery error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from somatrace.checks.cli.options import add_output_file, add_output_format
from somatrace.checks.lint.errors import UsageError

ENV_PREFIX = "SOMATRACE_DIGEST_"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(ENV_PREFIX + name.upper().replace("-", "_"), default)


def configure(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("source (one of)")
    source.add_argument("--prometheus-url", default=_env("prometheus-url"), metavar="URL")
    source.add_argument(
        "--spans-db", type=Path, default=_env("spans-db"), metavar="FILE",
        help="the SQLite store of somatrace's OTLP receiver",
    )  # fmt: skip
    window = parser.add_argument_group("window")
    window.add_argument(
        "--date", default=_env("date"), metavar="YYYY-MM-DD",
        help="the UTC day to report (default: yesterday)",
    )  # fmt: skip
    window.add_argument("--start", default=None, metavar="ISO", help="window start (UTC)")
    window.add_argument("--end", default=None, metavar="ISO", help="window end (UTC)")
    out = parser.add_argument_group("delivery")
    out.add_argument("--webhook-url", default=_env("webhook-url"), metavar="URL")
    out.add_argument("--smtp-host", default=_env("smtp-host"), metavar="HOST")
    out.add_argument("--smtp-port", type=int, default=int(_env("smtp-port", "25") or 25))
    out.add_argument(
        "--smtp-starttls", action="store_true", default=_env("smtp-starttls") == "true"
    )
    out.add_argument("--mail-from", default=_env("mail-from", "somatrace@localhost"))
    out.add_argument(
        "--mail-to", action="append", default=[t for t in (_env("mail-to") or "").split(",") if t],
        metavar="ADDRESS", help="recipient (repeatable; also the webhook's recipients)",
    )  # fmt: skip
    add_output_file(out, "write the JSON digest document here")
    add_output_format(out, "json: print the digest document")


def _window(args: argparse.Namespace) -> tuple[dt.datetime, dt.datetime]:
    from somatrace.checks.digest.model import day_window

    if args.start or args.end:
        if not (args.start and args.end):
            raise UsageError("--start and --end go together")
        try:
            start, end = (_utc(dt.datetime.fromisoformat(v)) for v in (args.start, args.end))
        except ValueError as error:
            raise UsageError(f"--start/--end: {error}") from None
        if end <= start:
            raise UsageError("--end must be after --start")
        return start, end
    if args.date:
        try:
            return day_window(dt.date.fromisoformat(args.date))
        except ValueError:
            raise UsageError(f"--date {args.date!r} is not YYYY-MM-DD") from None
    return day_window(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def run(args: argparse.Namespace) -> int:
    from somatrace.checks.digest import deliver
    from somatrace.checks.digest.from_prometheus import PrometheusError, digest_from_prometheus
    from somatrace.checks.digest.from_spans import digest_from_spans

    if bool(args.prometheus_url) == bool(args.spans_db):
        raise UsageError("give exactly one source: --prometheus-url or --spans-db")
    start, end = _window(args)
    if args.spans_db:
        if not Path(args.spans_db).is_file():
            raise UsageError(f"--spans-db {args.spans_db} does not exist")
        digest = digest_from_spans(Path(args.spans_db), start, end)
    else:
        try:
            digest = digest_from_prometheus(args.prometheus_url, start, end)
        except PrometheusError as error:
            print(f"somatrace: error: {error}", file=sys.stderr)
            return 2
    document = deliver.webhook_payload(digest, args.mail_to)
    if args.output:
        args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if args.output_format == "json":
        print(json.dumps(document, indent=2))
    status = 0
    try:
        if args.webhook_url:
            code = deliver.post_webhook(args.webhook_url, digest, args.mail_to)
            print(f"digest {digest.day}: posted to the notification service (HTTP {code})")
        if args.smtp_host:
            settings = deliver.SmtpSettings(
                args.smtp_host, args.smtp_port, args.mail_from, starttls=args.smtp_starttls,
                username=os.environ.get("SOMATRACE_DIGEST_SMTP_USERNAME", ""),
                password=os.environ.get("SOMATRACE_DIGEST_SMTP_PASSWORD", ""),
            )  # fmt: skip
            deliver.send_email(settings, digest, args.mail_to)
            print(f"digest {digest.day}: mailed to {', '.join(args.mail_to)}")
    except deliver.DeliveryError as error:
        print(f"somatrace: error: {error}", file=sys.stderr)
        status = 2
    if not (args.webhook_url or args.smtp_host or args.output_format == "json" or args.output):
        print(deliver.text_body(digest), end="")
    return status
