"""The config-file scanners on real file text: which variables, which values, exact positions."""

from __future__ import annotations

import textwrap

import pytest

from somatrace.checks.config_files import ConfigFormat, ConfigScan, LocatedVar, scan_text
from somatrace.checks.config_files.detect import detect_format
from somatrace.checks.config_files.model import Span, TextIndex


def scan(relpath: str, text: str) -> ConfigScan:
    result = scan_text(textwrap.dedent(text).lstrip("\n"), relpath)
    assert result is not None
    return result


def variables(result: ConfigScan) -> dict[str, str | None]:
    return {v.name: v.value for group in result.groups for v in group.variables}


def find(result: ConfigScan, name: str) -> LocatedVar:
    matches = [v for g in result.groups for v in g.variables if v.name == name]
    assert matches, f"{name} not found in {variables(result)}"
    return matches[0]


def at(text: str, span: Span | None) -> str:
    """The source text a single-line span covers."""
    assert span is not None and span.line == span.end_line
    line = textwrap.dedent(text).lstrip("\n").split("\n")[span.line - 1]
    return line[span.col - 1 : span.end_col - 1]


@pytest.mark.parametrize(
    ("relpath", "expected"),
    [
        (".env", ConfigFormat.DOTENV),
        ("svc/.env.production", ConfigFormat.DOTENV),
        ("svc/prod.env", ConfigFormat.DOTENV),
        ("Dockerfile", ConfigFormat.DOCKERFILE),
        ("svc/Dockerfile.worker", ConfigFormat.DOCKERFILE),
        ("svc/api.Dockerfile", ConfigFormat.DOCKERFILE),
        ("Containerfile", ConfigFormat.DOCKERFILE),
        (".github/workflows/ci.yml", ConfigFormat.WORKFLOW),
        ("docker-compose.yml", ConfigFormat.COMPOSE),
        ("compose.prod.yaml", ConfigFormat.COMPOSE),
        ("charts/x/values.yaml", ConfigFormat.HELM_VALUES),
        ("deploy/values-prod.yaml", ConfigFormat.HELM_VALUES),
        ("charts/x/templates/deployment.yaml", ConfigFormat.HELM_TEMPLATE),
        ("deploy/values-env.yaml.gotmpl", ConfigFormat.HELM_TEMPLATE),
        ("charts/x/templates/_helpers.tpl", ConfigFormat.HELM_TEMPLATE),
        ("deploy/k8s/app.yaml", ConfigFormat.YAML),
        ("app/main.py", None),
        ("README.md", None),
        (".env/bin/activate", None),  # a virtualenv called .env is not a dotenv file
        (".envrc.d/notes.txt", None),
    ],
)
def test_detect_format(relpath: str, expected: ConfigFormat | None) -> None:
    assert detect_format(relpath) == expected


def test_text_index_positions_and_token_spans() -> None:
    text = 'a: 1\nb: "true"\n'
    index = TextIndex(text)
    assert index.position(0) == (1, 1) and index.position(5) == (2, 1)
    assert index.offset(2, 4) == 8
    assert index.token_span(8, '"true"') == Span(2, 5, 2, 9)
    assert index.token_span(8, "'true'") is None  # not what the source says


# -- .env ---------------------------------------------------------------------------------------

DOTENV = """
# comment TRACE_CONTENT=true
APP=billing
export TRACE_CONTENT = "True"   # inline comment
SINGLE='1'
PLAIN=yes # comment
MULTI="line one
line two"
AFTER=on
EMPTY=
"""


def test_dotenv_values_and_positions() -> None:
    result = scan(".env", DOTENV)
    assert variables(result) == {
        "APP": "billing",
        "TRACE_CONTENT": "True",
        "SINGLE": "1",
        "PLAIN": "yes",
        "MULTI": "line one\nline two",
        "AFTER": "on",
        "EMPTY": "",
    }
    content = find(result, "TRACE_CONTENT")
    assert content.name_span == Span(3, 8, 3, 21)
    assert at(DOTENV, content.value_span) == '"True"'
    assert at(DOTENV, content.token_span) == "True"
    assert at(DOTENV, find(result, "SINGLE").token_span) == "1"
    assert at(DOTENV, find(result, "PLAIN").value_span) == "yes"
    assert find(result, "AFTER").name_span.line == 8  # the multi-line value was skipped over
    assert find(result, "MULTI").token_span is None


def test_dotenv_crlf_keeps_carriage_returns_out_of_values() -> None:
    result = scan_text("TRACE_CONTENT=true\r\nB='x'\r\n", ".env")
    assert result is not None
    assert variables(result) == {"TRACE_CONTENT": "true", "B": "x"}
    assert find(result, "TRACE_CONTENT").token_span == Span(1, 15, 1, 19)


# -- Dockerfile ---------------------------------------------------------------------------------

DOCKERFILE = """
FROM python:3.11-slim AS base
ENV APP=billing MODE="two words" \\
    # a comment inside the continuation
    TRACE_CONTENT='1'
env LEGACY_NAME value with blanks
FROM base AS final
ENV TRACELOOP_TRACE_CONTENT on
ENV ESCAPED=a\\ b
"""


def test_dockerfile_both_syntaxes_continuations_and_stages() -> None:
    result = scan("Dockerfile", DOCKERFILE)
    assert [g.where for g in result.groups] == ["stage base", "stage final"]
    assert variables(result) == {
        "APP": "billing",
        "MODE": "two words",
        "TRACE_CONTENT": "1",
        "LEGACY_NAME": "value with blanks",
        "TRACELOOP_TRACE_CONTENT": "on",
        "ESCAPED": "a b",
    }
    content = find(result, "TRACE_CONTENT")
    assert content.name_span == Span(4, 5, 4, 18)
    assert at(DOCKERFILE, content.value_span) == "'1'"
    assert at(DOCKERFILE, content.token_span) == "1"
    assert at(DOCKERFILE, find(result, "TRACELOOP_TRACE_CONTENT").token_span) == "on"
    assert at(DOCKERFILE, find(result, "LEGACY_NAME").value_span) == "value with blanks"
    assert find(result, "ESCAPED").token_span is None  # escapes: no verbatim token to edit


def test_dockerfile_escape_directive() -> None:
    text = "# escape=`\nFROM mcr.microsoft.com/windows\nENV TRACE_CONTENT=true `\n    B=2\n"
    result = scan_text(text, "Dockerfile")
    assert result is not None
    assert variables(result) == {"TRACE_CONTENT": "true", "B": "2"}
    assert find(result, "TRACE_CONTENT").token_span == Span(3, 19, 3, 23)


# -- YAML ---------------------------------------------------------------------------------------

WORKLOAD_KINDS = {
    "Pod": "spec",
    "Deployment": "spec.template.spec",
    "StatefulSet": "spec.template.spec",
    "DaemonSet": "spec.template.spec",
    "ReplicaSet": "spec.template.spec",
    "ReplicationController": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
    "Rollout": "spec.template.spec",  # Argo Rollouts: a CRD, found the same way
}


def _manifest(kind: str, pod_path: str) -> str:
    lines = ["apiVersion: v1", f"kind: {kind}", f"metadata: {{name: {kind.lower()}}}"]
    indent = ""
    for part in pod_path.split("."):
        lines.append(f"{indent}{part}:")
        indent += "  "
    lines += [
        f"{indent}initContainers:",
        f"{indent}  - name: init",
        f"{indent}    env: [{{name: INIT_VAR, value: init}}]",
        f"{indent}containers:",
        f"{indent}  - name: app",
        f"{indent}    env:",
        f"{indent}      - name: TRACE_CONTENT",
        f'{indent}        value: "true"',
        f"{indent}      - name: FROM_SECRET",
        f"{indent}        valueFrom: {{secretKeyRef: {{name: s, key: k}}}}",
        f"{indent}      - name: EMPTY",
    ]
    return "\n".join(lines) + "\n"


def test_every_workload_kind_in_one_multi_document_file() -> None:
    text = "---\n".join(_manifest(kind, path) for kind, path in WORKLOAD_KINDS.items())
    result = scan_text(text, "deploy/k8s/all.yaml")
    assert result is not None and result.format is ConfigFormat.KUBERNETES
    content = [v for g in result.groups for v in g.variables if v.name == "TRACE_CONTENT"]
    assert len(content) == len(WORKLOAD_KINDS)
    lines = text.split("\n")
    for var in content:
        assert lines[var.location.line - 1].strip() == 'value: "true"'
        token = var.token_span
        assert token is not None
        assert lines[token.line - 1][token.col - 1 : token.end_col - 1] == "true"
    wheres = {g.where.split(".", 1)[0] for g in result.groups}
    assert wheres == {f"{kind} {kind.lower()}" for kind in WORKLOAD_KINDS}
    every = [v for g in result.groups for v in g.variables]
    assert {v.value for v in every if v.name == "FROM_SECRET"} == {None}
    assert {v.value for v in every if v.name == "EMPTY"} == {""}
    assert {v.value for v in every if v.name == "INIT_VAR"} == {"init"}


def test_anchors_aliases_and_merge_keys_point_at_the_definition() -> None:
    text = """
x-base: &base
  TRACE_CONTENT: "yes"
  SHARED: one
x-extra: &extra
  EXTRA: two
services:
  api:
    environment: *base
  worker:
    environment:
      <<: [*base, *extra]
      SHARED: overridden
"""
    result = scan("docker-compose.yml", text)
    api, worker = (g for g in result.groups if g.where in ("services.api", "services.worker"))
    assert [(v.name, v.value) for v in api.variables] == [
        ("TRACE_CONTENT", "yes"),
        ("SHARED", "one"),
    ]
    assert [(v.name, v.value) for v in worker.variables][-1] == ("SHARED", "overridden")
    assert {v.name for v in worker.variables} == {"TRACE_CONTENT", "SHARED", "EXTRA"}
    for group in (api, worker):
        content = next(v for v in group.variables if v.name == "TRACE_CONTENT")
        assert content.location.line == 2  # the anchored text
        assert at(text, content.token_span) == "yes"


def test_compose_list_form_including_quoted_and_bare_entries() -> None:
    text = """
services:
  api:
    environment:
      - TRACE_CONTENT=true
      - "TRACELOOP_TRACE_CONTENT=1"
      - FROM_HOST
      - 'EMPTY='
"""
    result = scan("compose.yaml", text)
    assert variables(result) == {
        "TRACE_CONTENT": "true",
        "TRACELOOP_TRACE_CONTENT": "1",
        "FROM_HOST": None,
        "EMPTY": "",
    }
    assert at(text, find(result, "TRACE_CONTENT").token_span) == "true"
    quoted = find(result, "TRACELOOP_TRACE_CONTENT")
    assert at(text, quoted.name_span) == "TRACELOOP_TRACE_CONTENT"
    assert at(text, quoted.token_span) == "1"


def test_workflow_env_levels_inherit() -> None:
    text = """
on: push
env:
  A: workflow
jobs:
  build:
    env:
      B: job
    steps:
      - name: test
        run: pytest
        env:
          C: step
"""
    result = scan(".github/workflows/ci.yml", text)
    groups = {g.where: [v.name for v in g.variables] for g in result.groups}
    assert groups == {
        "top level": ["A"],
        "jobs.build": ["A", "B"],
        "jobs.build.steps[test]": ["A", "B", "C"],
    }


def test_helm_values_maps_lists_and_value_objects() -> None:
    text = """
env:
  TRACE_CONTENT: "on"
  SECRET:
    valueFrom: {secretKeyRef: {name: s, key: k}}
  OBJECT: {value: "1"}
extraEnv:
  - name: EXTRA
    value: x
worker:
  additionalEnv:
    - {name: ADDITIONAL, value: y}
  customEnv:
    CUSTOM: z
"""
    result = scan("charts/app/values.yaml", text)
    assert variables(result) == {
        "TRACE_CONTENT": "on",
        "SECRET": None,
        "OBJECT": "1",
        "EXTRA": "x",
        "ADDITIONAL": "y",
        "CUSTOM": "z",
    }
    assert at(text, find(result, "OBJECT").token_span) == "1"


def test_configmap_data_and_secret_string_data_are_environments() -> None:
    text = """
apiVersion: v1
kind: ConfigMap
metadata: {name: tracing}
data:
  TRACELOOP_TRACE_CONTENT: "false"
---
apiVersion: v1
kind: Secret
metadata: {name: lf}
stringData:
  LANGFUSE_SECRET_KEY: sk-lf-abc
"""
    result = scan("deploy/k8s/tracing.yaml", text)
    assert {g.where for g in result.groups} == {"ConfigMap tracing", "Secret lf"}
    assert variables(result) == {
        "TRACELOOP_TRACE_CONTENT": "false",
        "LANGFUSE_SECRET_KEY": "sk-lf-abc",
    }


def test_exporter_headers_only_under_an_exporter() -> None:
    text = """
exporters:
  otlphttp/langfuse:
    headers:
      Authorization: Basic abc
ingress:
  headers:
    Authorization: Basic def
"""
    result = scan("deploy/collector.yaml", text)
    assert [(h.name, h.value) for h in result.headers] == [("Authorization", "Basic abc")]


def test_custom_tags_and_block_scalars() -> None:
    text = """
Resources:
  Fn:
    Properties:
      Environment:
        Variables: !Ref Vars
env:
  TRACE_CONTENT: |
    true
"""
    result = scan("template.yaml", text)
    var = find(result, "TRACE_CONTENT")
    assert var.value == "true\n" and var.token_span is None


def test_helm_template_is_line_scanned_without_a_problem() -> None:
    text = """
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: {{ .Chart.Name }}
          env:
            {{- range $k, $v := .Values.env }}
            - name: {{ $k }}
              value: {{ $v | quote }}
            {{- end }}
            - name: TRACE_CONTENT
              value: "true"
            - name: "TRACELOOP_TRACE_CONTENT"
              value: {{ .Values.content | quote }}
          envFrom: []
"""
    result = scan("charts/app/templates/deployment.yaml", text)
    assert result.line_scanned and result.problems == ()
    assert result.format is ConfigFormat.HELM_TEMPLATE
    found = variables(result)
    assert found["TRACE_CONTENT"] == "true"
    assert found["TRACELOOP_TRACE_CONTENT"] == "{{ .Values.content | quote }}"
    assert at(text, find(result, "TRACE_CONTENT").token_span) == "true"


def test_invalid_yaml_is_a_problem_and_still_line_scanned() -> None:
    text = """
env:
  TRACE_CONTENT: "true"
  broken: [unclosed
other: x
"""
    result = scan("deploy/app.yaml", text)
    assert result.line_scanned
    assert len(result.problems) == 1 and result.problems[0].reason.startswith("invalid YAML")
    assert result.problems[0].line >= 3
    assert find(result, "TRACE_CONTENT").value == "true"


@pytest.mark.parametrize(
    "text",
    [
        "a: &a [*a]\n",  # a recursive alias
        "[" * 5000 + "]" * 5000 + "\n",  # nested too deeply for a recursive parser
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}] \n" for i in range(20))
        + "env: {TRACE_CONTENT: *u}\n",  # billion laughs: aliases are never expanded
        "\x00\x01 not yaml at all",
    ],
)
def test_hostile_yaml_never_crashes(text: str) -> None:
    result = scan_text(text, "deploy/hostile.yaml")
    assert result is not None


def test_positions_count_characters_not_bytes() -> None:
    text = (
        "# Ünïcödé: 日本語\n"
        'env: [{name: NOTE, value: "日本語"}, {name: TRACE_CONTENT, value: "true"}]\n'
    )
    result = scan_text(text, "deploy/app.yaml")
    assert result is not None
    token = find(result, "TRACE_CONTENT").token_span
    assert token is not None and token.line == 2
    assert text.split("\n")[1][token.col - 1 : token.end_col - 1] == "true"


def test_line_scan_reads_flow_entries_and_one_entry_maps_are_env() -> None:
    template = """
{{- if .Values.enabled }}
env:
  - {name: TRACE_CONTENT, value: "true"}
  - {name: OTHER, value: x}
{{- end }}
"""
    result = scan("charts/app/templates/job.yaml", template)
    assert result.line_scanned
    assert variables(result) == {"TRACE_CONTENT": "true", "OTHER": "x"}
    assert at(template, find(result, "TRACE_CONTENT").token_span) == "true"
    listed = scan("charts/app/values.yaml", "env:\n  - TRACE_CONTENT: 'yes'\n  - B: x\n")
    assert variables(listed) == {"TRACE_CONTENT": "yes", "B": "x"}
