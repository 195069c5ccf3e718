"""`fix --diff` printed planted secrets: 3 with default settings (a module constant was masked on
its variable name instead of its value), 13 with `--select ST2`, 15 with `--ignore ST401`.
Masking now does not depend on the rules selected: every secret-looking value on either side of
the diff is masked, and the fixes themselves are still shown."""

from __future__ import annotations

import pytest

from tests.hostile.repo_b import CANARY, HostileRepo

SECRETS = [
    "sk-lf-1111aaaa2222bbbb3333",
    "pk-lf-4444cccc5555dddd",
    "plain-secret-6666",
    "dXNlcjpzM2NyM3Q3Nzc3",
    "Pa55word8888",
    "tok-9999-zzzz-yyyy",
    "sk-lf-ctorctor1212",
    "sk-lf-envenv0000111122",
    "ZW52OmVudnNlY3JldDEyMzQ=",
    "envpassword5555",
    "sk-lf-yamlyaml6666777788",
    "yaml-token-9999abcd",
    "x-secret-in-headers-4242",
    "QmVhcmVyVG9rZW4xMjM0NTY3OA",
    "hunter2hunter2",
]

LEAKY = f'''import os

from fastapi import FastAPI
from langfuse import Langfuse
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

LANGFUSE_SECRET = "{SECRETS[0]}"
PUBLIC = "{SECRETS[1]}"
HEADERS = {{"x-langfuse-secret": "{SECRETS[2]}", "Authorization": "Basic {SECRETS[3]}"}}
DB_URL = "postgres://app:{SECRETS[4]}@db/app"
os.environ["TRACELOOP_TRACE_CONTENT"] = "true"
API_TOKEN = "{SECRETS[5]}"
client = Langfuse(secret_key="{SECRETS[6]}", public_key=PUBLIC)
exporter = OTLPSpanExporter(endpoint="http://collector:4318", headers=HEADERS)
OTHER = {{"x-langfuse-secret-key": "{SECRETS[12]}"}}
bearer = "Bearer {SECRETS[13]}"
password = "{SECRETS[14]}"
app = FastAPI()
'''
ENV = f"""LANGFUSE_SECRET_KEY={SECRETS[7]}
OTEL_EXPORTER_OTLP_HEADERS=Authorization=Basic {SECRETS[8]}
TRACELOOP_TRACE_CONTENT=true
DB_PASSWORD={SECRETS[9]}
"""
DEPLOYMENT = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: leaky
spec:
  selector:
    matchLabels: {{app: leaky}}
  template:
    metadata:
      labels: {{app: leaky}}
    spec:
      containers:
        - name: app
          image: leaky:1
          env:
            - name: LANGFUSE_SECRET_KEY
              value: {SECRETS[10]}
            - name: TRACELOOP_TRACE_CONTENT
              value: "true"
            - name: SERVICE_TOKEN
              value: {SECRETS[11]}
"""
FILES = {"services/leaky/app/main.py": LEAKY, "services/leaky/.env": ENV,
         "deploy/k8s/leaky.yaml": DEPLOYMENT}  # fmt: skip


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--select", "ST2"],
        ["--ignore", "ST401"],
        ["--select", "ST101,ST201,ST202"],
        ["--unsafe-fixes", "--select", "ST1,ST2,ST3"],
    ],
    ids=["default", "select-ST2", "ignore-ST401", "only-fixable", "unsafe"],
)
def test_diff_masks_every_secret_whatever_is_selected(tmp_path, options: list[str]) -> None:
    repo = HostileRepo.build(tmp_path, files=FILES)
    repo.secrets = SECRETS
    repo.commit()
    before = {rel: repo.read(rel) for rel in [*FILES, CANARY]}
    for command in (["fix", "--diff", "--show-fixes"], ["check", "--diff"]):
        done = repo.run(*command, *options, ".")  # asserts no secret in stdout/stderr
        assert done.returncode == 1, done.stdout + done.stderr
        diff = done.stdout
        assert "+TRACELOOP_TRACE_CONTENT=false" in diff, diff  # the fixes are shown
        assert '+os.environ["TRACELOOP_TRACE_CONTENT"] = "false"' in diff, diff
        assert "****(" in diff  # masked, not dropped
        assert {rel: repo.read(rel) for rel in before} == before  # --diff writes nothing
    repo.outside.arm()


def test_findings_and_fix_reports_never_show_the_secrets(tmp_path) -> None:
    repo = HostileRepo.build(tmp_path, files=FILES)
    repo.secrets = SECRETS
    repo.commit()
    for fmt in ("json", "sarif", "junit", "github", "concise"):
        report = tmp_path / f"report.{fmt}"
        done = repo.run("check", "--output-format", fmt, "--output-file", str(report), ".")
        assert done.returncode == 1, done.stdout + done.stderr
        repo.assert_no_secret_in([report])
    done = repo.run("fix", "--show-fixes", ".")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "TRACELOOP_TRACE_CONTENT=false" in repo.read("services/leaky/.env")
    repo.assert_canary_fixed()
