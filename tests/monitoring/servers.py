"""The real monitoring binaries (Debian's Prometheus 2.42, Alertmanager 0.25, node-exporter
1.5) started on 127.0.0.1 with free ports, and a real HTTP server standing in for the
notification service. Every process is stopped by the context manager that started it."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from somatrace.checks.runtime.llm_server import free_port

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager")
NODE_EXPORTER = shutil.which("prometheus-node-exporter")
PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")

needs_binaries = pytest.mark.skipif(
    not all((PROMETHEUS, ALERTMANAGER, NODE_EXPORTER, PROMTOOL, AMTOOL)),
    reason="Prometheus/Alertmanager/node-exporter missing: run scripts/setup.d/prometheus.sh",
)


@dataclass
class Process:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return bytes(response.read())


def wait_until_ready(proc: Process, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise RuntimeError(f"{proc.name} exited {proc.process.returncode}:\n{proc.log_tail()}")
        try:
            _get(proc.url + path, timeout=2)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{proc.name} not ready within {timeout} s:\n{proc.log_tail()}")


@contextmanager
def running(
    name: str, command: Sequence[str], url: str, ready: str, log: Path
) -> Iterator[Process]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    proc = Process(name, url, process, log)
    try:
        wait_until_ready(proc, ready)
        yield proc
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@contextmanager
def node_exporter(textfile_dir: Path, work: Path) -> Iterator[Process]:
    """node-exporter with only its textfile collector, reading ``textfile_dir``."""
    assert NODE_EXPORTER
    port = free_port()
    command = [
        NODE_EXPORTER,
        f"--web.listen-address=127.0.0.1:{port}",
        "--collector.disable-defaults",
        "--collector.textfile",
        f"--collector.textfile.directory={textfile_dir}",
    ]
    url = f"http://127.0.0.1:{port}"
    with running("node-exporter", command, url, "/metrics", work / "node-exporter.log") as p:
        yield p


@contextmanager
def alertmanager(config: dict[str, Any], work: Path) -> Iterator[Process]:
    assert ALERTMANAGER
    port = free_port()
    (work / "alertmanager").mkdir(parents=True, exist_ok=True)
    path = work / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    command = [
        ALERTMANAGER,
        f"--config.file={path}",
        f"--storage.path={work / 'alertmanager'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # no gossip port (it would listen on 0.0.0.0:9094)
    ]
    url = f"http://127.0.0.1:{port}"
    with running("alertmanager", command, url, "/-/ready", work / "alertmanager.log") as p:
        yield p


@contextmanager
def prometheus(
    targets: dict[str, list[str]],
    work: Path,
    *,
    rule_files: Sequence[Path] = (),
    alertmanager_url: str | None = None,
    interval: str = "1s",
) -> Iterator[Process]:
    """Prometheus scraping ``targets`` (job -> host:port list) every ``interval``, evaluating
    ``rule_files`` as often, sending alerts to ``alertmanager_url``."""
    assert PROMETHEUS
    port = free_port()
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": hosts}]}
            for job, hosts in targets.items()
        ],
    }
    if alertmanager_url:
        host = urllib.parse.urlsplit(alertmanager_url).netloc
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [host]}]}]}
    path = work / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    command = [
        PROMETHEUS,
        f"--config.file={path}",
        f"--storage.tsdb.path={work / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--rules.alert.resend-delay=1s",
    ]
    url = f"http://127.0.0.1:{port}"
    with running("prometheus", command, url, "/-/ready", work / "prometheus.log") as p:
        wait_until_scraping(p, sum(map(len, targets.values())))
        yield p


def wait_until_scraping(prometheus: Process, targets: int, timeout: float = 30) -> None:
    """Block until Prometheus has attempted a scrape of each of its ``targets``.

    Ready is not scraping: the scrape manager builds its scrape pools from discovered
    targets only on a reload ticker that first fires 5 s after start-up (prometheus/
    prometheus scrape/manager.go:143, ``Manager.reloader``, commit 00315ce). A process
    that runs, counts and exits inside those seconds is seen by at most one scrape, and a
    ``rate()`` over its counters has no two samples. A target answered "down" counts: the
    services under test start after this returns, and their loops are already running.
    """

    def scraped() -> bool:
        body = json.loads(_get(f"{prometheus.url}/api/v1/targets?state=active"))
        active = body["data"]["activeTargets"]
        return len(active) == targets and all(t["health"] != "unknown" for t in active)

    wait_for(scraped, timeout, "Prometheus scraping every target", context=prometheus.log_tail)


def query(prometheus: Process, expr: str, at: float | None = None) -> list[dict[str, Any]]:
    """An instant query through Prometheus's HTTP API; the result vector (or matrix)."""
    params = {"query": expr}
    if at is not None:
        params["time"] = f"{at:.3f}"
    body = json.loads(_get(f"{prometheus.url}/api/v1/query?{urllib.parse.urlencode(params)}"))
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def query_range(
    prometheus: Process, expr: str, start: float, end: float, step: float
) -> list[dict[str, Any]]:
    params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
    url = f"{prometheus.url}/api/v1/query_range?{urllib.parse.urlencode(params)}"
    body = json.loads(_get(url))
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def wait_for(
    check: Any, timeout: float, what: str, interval: float = 0.25, context: Any = None
) -> Any:
    """Poll ``check()`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{context()}" if context else ""
            raise AssertionError(f"{what}: not within {timeout:g} s{extra}")
        time.sleep(interval)


@dataclass
class Delivery:
    path: str
    body: Any
    at: float


@dataclass
class NotificationService:
    """A real HTTP server recording every POST, as the notification service would get them."""

    url: str
    received: list[Delivery] = field(default_factory=list)

    def alerts(self, status: str | None = None) -> list[dict[str, Any]]:
        found = []
        for delivery in list(self.received):
            if isinstance(delivery.body, dict):
                for alert in delivery.body.get("alerts", []):
                    if status is None or alert.get("status") == status:
                        found.append(alert)
        return found


@contextmanager
def notification_service() -> Iterator[NotificationService]:
    service = NotificationService("")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body: Any = json.loads(raw or b"null")
            except ValueError:
                body = raw.decode(errors="replace")
            with lock:
                service.received.append(Delivery(self.path, body, time.monotonic()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    service.url = f"http://{host}:{port}"
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
