"""``python -m somatrace.checks.runtime.receiver``: the receiver as a process."""

from __future__ import annotations

import argparse
import signal
import sys

from somatrace.checks.runtime.receiver.http import PROFILES, OTLPReceiver
from somatrace.checks.runtime.receiver.langfuse import (
    DEFAULT_PUBLIC_KEY,
    DEFAULT_SECRET_KEY,
    Credentials,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m somatrace.checks.runtime.receiver",
        description="An OTLP/HTTP receiver on 127.0.0.1 that stores what it accepts in SQLite.",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = a free port)")
    parser.add_argument("--store", default=None, help="SQLite file to store into (default: memory)")
    parser.add_argument(
        "--profile", choices=PROFILES, default="langfuse",
        help="langfuse: Langfuse's ingestion contract (default); otlp: the lenient OTLP/HTTP spec",
    )  # fmt: skip
    parser.add_argument("--public-key", default=DEFAULT_PUBLIC_KEY, help="accepted public key")
    parser.add_argument(
        "--secret-key", default=DEFAULT_SECRET_KEY,
        help="accepted secret key (prefer the default test pair; a real one ends up in ps)",
    )  # fmt: skip
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering")
    parser.add_argument("--hang", action="store_true", help="never answer")
    parser.add_argument(
        "--trickle", type=float, default=None, metavar="SECONDS",
        help="send the answer one byte every SECONDS",
    )  # fmt: skip
    parser.add_argument(
        "--fail-status", type=int, default=None, help="answer every request with this status"
    )
    parser.add_argument(
        "--fail-count", type=int, default=None, help="fail only the first N requests"
    )
    parser.add_argument(
        "--retry-after", type=float, default=None, help="Retry-After seconds on failures"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    try:
        receiver = OTLPReceiver(
            args.port,
            args.store,
            profile=args.profile,
            credentials=Credentials(args.public_key, args.secret_key),
            delay_seconds=args.delay,
            fail_status=args.fail_status,
            fail_count=args.fail_count,
            retry_after=args.retry_after,
            trickle_seconds=args.trickle,
            hang=args.hang,
            verbose=args.verbose,
        )
    except (OSError, ValueError) as error:
        print(f"error: cannot start the receiver: {error}", file=sys.stderr)
        return 2

    def stop(_signum: int, _frame: object) -> None:
        receiver.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on {receiver.url}", flush=True)
    try:
        receiver.serve_forever()
    finally:
        receiver.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
