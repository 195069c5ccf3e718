"""ST202 trace-content-enabled-config."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from somatrace.checks.config_files import FILE_PATTERNS
from somatrace.checks.config_files.evaluate import (
    LocatedViolation,
    config_findings,
    content_switch_names,
)
from somatrace.checks.lint.codes import TRACE_CONTENT_ENABLED_CONFIG
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.rule import (
    Expect,
    FileContext,
    FixAvailability,
    Invalid,
    TextRule,
    Valid,
)

VALUE_SPAN = "value_span"  # data key: [line, col, end_line, end_col] of the truthy word itself


def value_span(located: LocatedViolation) -> dict[str, object]:
    """Where the truthy word is, when the file spells it verbatim (the fixer replaces exactly
    that); nothing for escapes, folded scalars and other spellings a text edit cannot keep."""
    token = located.var.token_span
    if token is None:
        return {}
    return {VALUE_SPAN: [token.line, token.col, token.end_line, token.end_col]}


class TraceContentEnabledConfig(TextRule):
    """A deployment or config file switches prompt/completion capture on.

    ## What it does
    Reports `TRACE_CONTENT`, `TRACELOOP_TRACE_CONTENT` and
    `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` (plus any names in the
    `content-switches` option) set to a truthy value (`true`, `1`, `yes`, `on`, any case, quoted
    or not) in `.env*` files, Kubernetes manifests (container `env` lists in every workload kind
    and document, ConfigMaps), Helm values (`env`, `extraEnv`, `additionalEnv` maps and lists)
    and templates, docker-compose `environment` (map and list forms), GitHub workflow `env` at
    workflow, job and step level, and Dockerfile `ENV` (both syntaxes). Values that are
    references (`${VAR}`, `{{ .Values.x }}`, `${{ vars.X }}`, `valueFrom`) are not judged.

    ## Why is this bad?
    A service is configured as much by its deployment files as by its code. With the switch on,
    every prompt and completion, with whatever personal data they hold, is stored in the trace
    backend. traceloop-sdk 0.62 even defaults `TRACELOOP_TRACE_CONTENT` to "true", so the one
    safe value is an explicit false.

    ## Example
    ```yaml
    env:
      - name: TRACELOOP_TRACE_CONTENT
        value: "true"
    ```

    ## Use instead
    ```yaml
    env:
      - name: TRACELOOP_TRACE_CONTENT
        value: "false"
    ```

    ## Fix safety
    Safe: `somatrace fix` replaces the truthy word with `false` in place and keeps everything
    else (quotes, comments, the rest of the line and file) byte-for-byte. A value the source
    does not spell verbatim (escapes, folded scalars) is reported without a fix.
    """

    CODE = TRACE_CONTENT_ENABLED_CONFIG
    NAME = "trace-content-enabled-config"
    FIX = FixAvailability.ALWAYS
    FILE_PATTERNS = FILE_PATTERNS
    TRIGGERS = (b"TRACE_CONTENT", b"CAPTURE_MESSAGE_CONTENT")

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        if any(trigger in source for trigger in cls.TRIGGERS):
            return True
        return any(name.encode() in source for name in ctx.config.get("content-switches"))

    def check_text(self, text: str, ctx: FileContext) -> Iterable[Finding]:
        return config_findings(self.CODE, text, ctx, extra=value_span)

    @staticmethod
    def switch_names(ctx: FileContext) -> tuple[str, ...]:
        return content_switch_names(ctx.config)

    VALID: ClassVar[list[Valid]] = [
        Valid(
            """
            TRACELOOP_TRACE_CONTENT=false
            TRACE_CONTENT="0"
            # TRACE_CONTENT=true is how you would leak prompts
            OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=${CAPTURE}
            """,
            path="services/billing/.env",
            why="false, commented out or a reference",
        ),
        Valid(
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: billing}
            spec:
              template:
                spec:
                  containers:
                    - name: app
                      env:
                        - name: TRACELOOP_TRACE_CONTENT
                          value: "false"
                        - name: TRACE_CONTENT
                          valueFrom:
                            configMapKeyRef: {name: tracing, key: content}
                        - name: NOT_TRACE_CONTENT
                          value: "true"
            """,
            path="deploy/k8s/billing.yaml",
            why="off, taken from elsewhere, or another variable",
        ),
        Valid(
            """
            env:
              TRACE_CONTENT: "{{ .Values.traceContent }}"
            {{- if .Values.debug }}
              DEBUG: "true"
            {{- end }}
            """,
            path="charts/billing/templates/configmap.yaml",
            why="a Helm template whose value is a template reference",
        ),
        Valid(
            """
            FROM python:3.11-slim
            ENV TRACELOOP_TRACE_CONTENT=false APP=billing
            ENV TRACE_CONTENT no
            """,
            path="services/billing/Dockerfile",
        ),
        Valid(
            """
            release_notes: "TRACE_CONTENT: true was removed"
            """,
            path="docs/notes.yaml",
            why="a mention inside some other value is not an environment variable",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            """
            APP=billing
            export TRACELOOP_TRACE_CONTENT = "True"  # debugging
            """,
            path="services/billing/.env.production",
            line=2,
            col=34,
            message="TRACELOOP_TRACE_CONTENT",
        ),
        Invalid(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: billing}
            ---
            apiVersion: batch/v1
            kind: CronJob
            metadata: {name: nightly}
            spec:
              jobTemplate:
                spec:
                  template:
                    spec:
                      containers:
                        - name: job
                          env:
                            - name: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
                              value: "yes"
            """,
            path="deploy/k8s/nightly.yaml",
            line=17,
            col=26,
            why="second document of a multi-document file, CronJob nesting",
        ),
        Invalid(
            """
            x-tracing: &tracing
              TRACE_CONTENT: "on"
            services:
              api:
                environment:
                  <<: *tracing
                  APP: api
              worker:
                environment:
                  - TRACELOOP_TRACE_CONTENT=1
            """,
            path="docker-compose.yml",
            line=2,
            col=18,
            count=2,
            why="map form through an anchor/merge key (reported at the anchor), and list form",
            expect=(
                Expect(2, 18, "TRACE_CONTENT=on turns prompt/completion capture on"),
                Expect(10, 33, "TRACELOOP_TRACE_CONTENT=1 turns prompt/completion capture on"),
            ),
        ),
        Invalid(
            """
            name: ci
            on: push
            env:
              TRACE_CONTENT: true
            jobs:
              test:
                runs-on: ubuntu-latest
                env:
                  TRACELOOP_TRACE_CONTENT: "1"
                steps:
                  - run: pytest
                    env:
                      OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'TRUE'
            """,
            path=".github/workflows/ci.yml",
            line=4,
            col=18,
            count=3,
            why="env at workflow, job and step level",
            expect=(
                Expect(4, 18, "TRACE_CONTENT=true turns prompt/completion capture on"),
                Expect(9, 32, "TRACELOOP_TRACE_CONTENT=1 turns prompt/completion capture on"),
                Expect(
                    13, 63, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=TRUE turns prompt/c"
                ),
            ),
        ),
        Invalid(
            """
            FROM python:3.11-slim AS base
            ENV APP=billing \\
                TRACE_CONTENT="true"
            FROM base
            ENV TRACELOOP_TRACE_CONTENT on
            """,
            path="services/billing/Dockerfile",
            line=3,
            col=19,
            count=2,
            why="both ENV syntaxes, a continuation line",
            expect=(
                Expect(3, 19, "TRACE_CONTENT=true turns prompt/completion capture on"),
                Expect(5, 29, "TRACELOOP_TRACE_CONTENT=on turns prompt/completion capture on"),
            ),
        ),
        Invalid(
            """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: tracing
              labels:
                {{- include "billing.labels" . | nindent 4 }}
            data:
              TRACELOOP_TRACE_CONTENT: "true"
            """,
            path="charts/billing/templates/configmap.yaml",
            line=8,
            col=28,
            why="a Helm template that is not valid YAML: line scan",
        ),
        Invalid(
            """
            image: {repository: billing}
            extraEnv:
              - name: MY_CAPTURE_PROMPTS
                value: "true"
            """,
            path="charts/billing/values.yaml",
            config={"content-switches": ["MY_CAPTURE_PROMPTS"]},
            line=4,
            col=12,
            why="a further switch named in the content-switches option",
        ),
    ]
