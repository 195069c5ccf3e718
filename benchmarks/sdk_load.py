"""Load benchmark of the spine: 5,000 spans/s for 60 s into the real receiver (``langfuse``
contract profile, a separate process), and the same with the receiver down, slow, answering
429 with Retry-After, and 500.

Per scenario a fresh service process (one ``init_tracing`` per process) makes tagged spans at
the target rate (one in four an LLM span with usage, so it is priced) and reports the
service-thread latency per span (p50 / p99 / max), its peak RSS, ``handle.stats()`` and the
time from its last span to its exit (which must stay within the export timeout + a margin).

    python benchmarks/sdk_load.py                 # 60 s per scenario
    python benchmarks/sdk_load.py --seconds 10    # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "healthy": [],
    "down": None,  # a closed port
    "slow (3 s)": ["--delay", "3"],
    "429 Retry-After 5": ["--fail-status", "429", "--retry-after", "5"],
    "500": ["--fail-status", "500"],
}
EXPORT_TIMEOUT_MS = 5000


def service(rate: int, seconds: float) -> None:
    """The child: make spans at ``rate`` per second for ``seconds``; print one JSON line."""
    from opentelemetry import trace

    from somatrace import tags
    from somatrace.tracing import init_tracing

    handle = init_tracing("load-svc")
    tracer = trace.get_tracer("load")
    latencies: list[float] = []
    started = time.perf_counter()
    total = int(rate * seconds)
    with tags.bind(tenant_id="acme", workflow_name="load", agent_id="bench"):
        for index in range(total):
            due = started + index / rate
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            begin = time.perf_counter()
            with tracer.start_as_current_span("step") as span:
                if index % 4 == 0:
                    span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                    span.set_attribute("gen_ai.operation.name", "chat")
                    span.set_attribute("gen_ai.usage.input_tokens", 120)
                    span.set_attribute("gen_ai.usage.output_tokens", 40)
            latencies.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started
    latencies.sort()
    report = {
        "spans": total,
        "achieved_rate": total / elapsed,
        "p50_us": latencies[len(latencies) // 2] * 1e6,
        "p99_us": latencies[int(len(latencies) * 0.99)] * 1e6,
        "max_ms": latencies[-1] * 1e3,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "last_span_at": time.time(),
        "stats": handle.stats()["pipeline"],
    }
    print("REPORT " + json.dumps(report), flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(name: str, flags: list[str] | None, rate: int, seconds: float) -> dict:
    receiver = None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LANGFUSE_"))}
    env.update(
        {"OTEL_BSP_EXPORT_TIMEOUT": str(EXPORT_TIMEOUT_MS), "SOMATRACE_INSTRUMENTS": "openai"}
    )
    if flags is None:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
    else:
        receiver = subprocess.Popen(
            [sys.executable, "-m", "somatrace.checks.runtime.receiver", "--port", "0", *flags],
            stdout=subprocess.PIPE, text=True, cwd=REPO,
        )  # fmt: skip
        assert receiver.stdout is not None
        url = receiver.stdout.readline().split("listening on ", 1)[1].strip()
        from somatrace.checks.runtime.receiver import Credentials

        pair = Credentials()
        env.update(
            {
                "LANGFUSE_HOST": url.removesuffix("/api/public/otel"),
                "LANGFUSE_PUBLIC_KEY": pair.public_key,
                "LANGFUSE_SECRET_KEY": pair.secret_key,
            }
        )
    try:
        child = subprocess.run(
            [sys.executable, __file__, "--child", "--rate", str(rate), "--seconds", str(seconds)],
            env=env, capture_output=True, text=True, cwd=REPO, timeout=seconds * 4 + 120,
        )  # fmt: skip
        exited = time.time()
    finally:
        if receiver is not None:
            receiver.terminate()
            receiver.wait(timeout=30)
    line = next((x for x in child.stdout.splitlines() if x.startswith("REPORT ")), None)
    if line is None:
        raise SystemExit(f"{name}: the service failed:\n{child.stderr[-3000:]}")
    report = json.loads(line[7:])
    report["exit_s"] = exited - report["last_span_at"]
    report["log_lines"] = sum("somatrace" in x for x in child.stderr.splitlines())
    report["traceback"] = "Traceback" in child.stderr
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", default=None, help="run one scenario")
    args = parser.parse_args()
    if args.child:
        service(args.rate, args.seconds)
        return 0
    rows = []
    for name, flags in SCENARIOS.items():
        if args.only and args.only != name:
            continue
        report = run(name, flags, args.rate, args.seconds)
        stats = report["stats"]
        rows.append(
            (
                name, f"{report['achieved_rate']:,.0f}", f"{report['p50_us']:.0f}",
                f"{report['p99_us']:.0f}", f"{report['max_ms']:.1f}",
                f"{report['peak_rss_mb']:.0f}", f"{stats['spans_exported']:,}",
                f"{stats['spans_dropped']:,}", f"{report['exit_s']:.2f}",
                str(report["log_lines"]), "yes" if report["traceback"] else "no",
            )
        )  # fmt: skip
        print(f"{name}: {json.dumps(stats)}", file=sys.stderr, flush=True)
    header = ("scenario", "spans/s", "p50 µs", "p99 µs", "max ms", "RSS MB", "exported",
              "dropped", "exit s", "log lines", "traceback")  # fmt: skip
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(" | ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True)))
    print(f"({args.rate} spans/s for {args.seconds:g} s per scenario; export timeout "
          f"{EXPORT_TIMEOUT_MS} ms; exit s = last span to process exit)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
