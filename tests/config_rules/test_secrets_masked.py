"""ST401 never prints a secret: planted credentials in every config format and in code, checked
with every output format of the real command line; only masked forms may appear."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from somatrace.checks.reporters import FORMATS
from tests.helpers import run_cli, write_files, write_pyproject

SECRET = "sk-lf-7f3c9e21-5b4d-4a8e-9c1f-2d6b8a0e4f13"
PUBLIC = "pk-lf-1c2d3e4f-aaaa-4bbb-8ccc-0123456789ab"
BASIC = base64.b64encode(f"{PUBLIC}:{SECRET}".encode()).decode()
# Pieces that would betray the secret even when printed partly.
FORBIDDEN = (
    SECRET,
    PUBLIC,
    BASIC,
    SECRET[6:22],
    SECRET[-12:],
    PUBLIC[6:22],
    BASIC[:16],
    BASIC[-16:],
)

FILES = {
    "services/api/.env": f"LANGFUSE_SECRET_KEY={SECRET}\nLANGFUSE_PUBLIC_KEY='{PUBLIC}'\n",
    "services/api/Dockerfile": f"FROM python:3.11\nENV LANGFUSE_SECRET_KEY {SECRET}\n",
    "deploy/k8s/api.yaml": f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: api}}
        spec:
          template:
            spec:
              containers:
                - name: app
                  env:
                    - name: OTEL_EXPORTER_OTLP_HEADERS
                      value: "Authorization=Basic {BASIC}"
        ---
        apiVersion: v1
        kind: Secret
        metadata: {{name: lf}}
        stringData:
          LANGFUSE_SECRET_KEY: {SECRET}
        """,
    "docker-compose.yml": f"""
        services:
          api:
            environment:
              - OTEL_EXPORTER_OTLP_TRACES_HEADERS=x-langfuse-secret={SECRET}
        """,
    ".github/workflows/ci.yml": f"""
        on: push
        jobs:
          t:
            runs-on: ubuntu-latest
            steps:
              - run: pytest
                env:
                  LANGFUSE_PUBLIC_KEY: {PUBLIC}
        """,
    "deploy/collector.yaml": f"""
        exporters:
          otlphttp/langfuse:
            headers:
              Authorization: "Basic {BASIC}"
        """,
    "charts/api/templates/secret.yaml": f"""
        stringData:
          {{{{- if .Values.enabled }}}}
          LANGFUSE_SECRET_KEY: "{SECRET}"
          {{{{- end }}}}
        """,
    "services/api/app/tracing.py": f"""
        import os

        from langfuse import Langfuse
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        os.environ["LANGFUSE_SECRET_KEY"] = "{SECRET}"
        exporter = OTLPSpanExporter(headers={{"Authorization": "Basic {BASIC}"}})
        client = Langfuse(public_key="{PUBLIC}")
        """,
}
EXPECTED_FINDINGS = 12


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("secrets")
    write_pyproject(root, {"select": ["ST401", "ST900"]})
    write_files(root, FILES)
    return root


def assert_no_secret(text: str) -> None:
    for piece in FORBIDDEN:
        assert piece not in text, f"secret material {piece[:8]}... printed"


def test_every_planted_secret_is_found_and_masked_in_json(project: Path) -> None:
    out = run_cli("check", ".", "--no-cache", "--output-format", "json", cwd=project)
    assert out.returncode == 1, out.stderr
    assert_no_secret(out.stdout + out.stderr)
    report = json.loads(out.stdout)
    findings = report["findings"] if isinstance(report, dict) else report
    assert len(findings) == EXPECTED_FINDINGS, [(f["path"], f["line"]) for f in findings]
    assert {f["code"] for f in findings} == {"ST401"}
    assert {f["path"].split("/")[-1] for f in findings} == {Path(p).name for p in FILES}
    for finding in findings:
        assert "****" in finding["message"], finding["message"]


@pytest.mark.parametrize("output_format", [f for f in FORMATS if f != "json"])
def test_no_output_format_prints_a_secret(project: Path, output_format: str) -> None:
    out = run_cli("check", ".", "--no-cache", "--output-format", output_format, cwd=project)
    assert out.returncode == 1, out.stderr
    assert "ST401" in out.stdout
    assert_no_secret(out.stdout + out.stderr)


def test_statistics_and_fix_print_no_secret(project: Path) -> None:
    stats = run_cli("check", ".", "--no-cache", "--statistics", cwd=project)
    assert f"{EXPECTED_FINDINGS:>5}\tST401" in stats.stdout
    fixing = run_cli("fix", ".", "--no-cache", "--diff", "--show-fixes", cwd=project)
    assert f"{EXPECTED_FINDINGS} remaining" in fixing.stdout + fixing.stderr  # nothing to fix
    for out in (stats, fixing):
        assert_no_secret(out.stdout + out.stderr)


def test_fix_diff_context_masks_a_secret_next_to_a_fixed_line(tmp_path: Path) -> None:
    """A diff shows three lines of context: a secret beside a fixed ST202 value is masked."""
    write_pyproject(tmp_path, {})
    write_files(
        tmp_path,
        {
            "services/api/.env": (
                f"TRACELOOP_TRACE_CONTENT=true\nLANGFUSE_SECRET_KEY={SECRET}\nAPP=api\n"
            )
        },
    )
    out = run_cli("fix", ".", "--no-cache", "--diff", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "+TRACELOOP_TRACE_CONTENT=false" in out.stdout
    # ST401's masked form: the well-known prefix and the length, never the value
    assert f" LANGFUSE_SECRET_KEY=sk-lf-****({len(SECRET)} chars)" in out.stdout
    assert_no_secret(out.stdout + out.stderr)
