"""ST401 hardcoded-otlp-secret."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import PositionProvider, ProviderT, ScopeProvider

from somatrace.checks.analysis.names import (
    callee_names,
    constant_string,
    environ_writes,
    keyword,
    literal_mapping,
    module_constants,
    resolve_constant,
)
from somatrace.checks.config_files import FILE_PATTERNS
from somatrace.checks.config_files.evaluate import (
    LocatedViolation,
    config_findings,
    header_violations,
    policy_for,
)
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.rule import FileContext, Invalid, PythonRule, TextRule, Valid
from somatrace.checks.policy.environ import (
    CODE_HARDCODED_SECRET,
    HEADER_VARS,
    KEY_VARS,
    EnvViolation,
    evaluate_var,
)

SOMATRACE_INIT = "somatrace.tracing.init_tracing"
TRACELOOP_INIT = frozenset(
    {"traceloop.sdk.Traceloop.init", "traceloop.sdk.tracing.tracing.Traceloop.init"}
)
# Langfuse client constructors and their credential keywords -> the env var they stand for.
LANGFUSE_KEYWORDS = {"secret_key": "LANGFUSE_SECRET_KEY", "public_key": "LANGFUSE_PUBLIC_KEY"}
# A literal credential can only be in a file that spells one of these (any case).
_PYTHON_TRIGGER = re.compile(
    rb"sk-lf-|pk-lf-|x-langfuse-secret|[\"'=](?:basic|bearer)(?: |%20)", re.IGNORECASE
)

_CREDENTIAL_CONTEXT = (
    b"otlp",
    b"OTLP",
    b"Otlp",
    b"langfuse",
    b"Langfuse",
    b"LANGFUSE",
    b"init_tracing",
    b"OTEL_",
)


def _is_otlp_exporter(name: str) -> bool:
    return name.startswith("opentelemetry.exporter.otlp.") and name.endswith("Exporter")


def _is_langfuse_client(name: str) -> bool:
    return name.split(".", 1)[0] == "langfuse" and name.rsplit(".", 1)[-1] == "Langfuse"


def config_message(located: LocatedViolation) -> str:
    if located.var.where.startswith("Secret "):
        return (
            f"{located.var.where} commits {located.var.name} as a literal "
            f"({located.violation.masked_value}); create the Secret from a secret store "
            "(ExternalSecret) instead, and rotate the key"
        )
    if not located.is_header:
        return located.violation.message
    return (
        f"exporter header '{located.var.name}' holds a literal credential "
        f"({located.violation.masked_value}); reference an environment variable filled from a "
        "Secret instead (e.g. ${env:LANGFUSE_OTLP_AUTH})"
    )


class HardcodedOtlpSecret(PythonRule, TextRule):
    """A literal credential where OTLP or Langfuse credentials go.

    ## What it does
    Reports a credential written into code or config instead of being referenced:

    - `OTEL_EXPORTER_OTLP_HEADERS` / `OTEL_EXPORTER_OTLP_TRACES_HEADERS` / `TRACELOOP_HEADERS`
      values with `x-langfuse-secret=...` or `Authorization=Basic ...` / `Bearer ...`;
    - `LANGFUSE_SECRET_KEY` / `LANGFUSE_PUBLIC_KEY` holding a literal `sk-lf-...` / `pk-lf-...`;
    - in Python: those variables set through `os.environ`, `headers={...}` given to an OTLP
      exporter (`OTLPSpanExporter`, ...), `init_tracing` or `Traceloop.init`, and
      `Langfuse(secret_key="sk-lf-...", public_key="pk-lf-...")`;
    - in config files (`.env*`, Kubernetes, Helm, compose, workflows, Dockerfiles): the
      variables above, Secrets' `stringData`, and OTLP exporter `headers:` maps (e.g. an
      OpenTelemetry Collector config).

    References are fine: `${VAR}`, `$(VAR)`, `${{ secrets.X }}`, `{{ .Values.x }}`,
    `valueFrom.secretKeyRef`, an ExternalSecret, `os.environ[...]`. Findings never show the
    secret: only its well-known prefix and length.

    ## Why is this bad?
    A Langfuse secret key in a repository grants write access to every trace of the project to
    anyone who can read the repository, its forks, CI logs and images. Basic auth in
    `OTEL_EXPORTER_OTLP_HEADERS` is that key, base64-encoded (not encrypted). It cannot be
    rotated without a code change.

    ## Example
    ```yaml
    env:
      - name: OTEL_EXPORTER_OTLP_HEADERS
        value: "Authorization=Basic cGstbGYtMTIzOnNrLWxmLTQ1Ng=="
    ```

    ## Use instead
    ```yaml
    env:
      - name: OTEL_EXPORTER_OTLP_HEADERS
        valueFrom:
          secretKeyRef: {name: langfuse-otlp, key: headers}
    ```

    ## Fix safety
    No automatic fix: the secret has to be moved to a secret store and rotated, since it has
    already been exposed.
    """

    CODE = "ST401"
    NAME = "hardcoded-otlp-secret"
    FILE_PATTERNS = FILE_PATTERNS
    TRIGGERS = (b"sk-lf-", b"pk-lf-", b"x-langfuse-secret", b'"Basic ', b"'Basic ")
    NEEDS_CONTEXT_FILTER = True
    TEXT_TRIGGERS: ClassVar[tuple[bytes, ...]] = (
        *(name.encode() for name in (*HEADER_VARS, *KEY_VARS)),
        b"x-langfuse-secret",
        b"uthorization",
        b"UTHORIZATION",
    )
    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        PositionProvider,
        ScopeProvider,
    )

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.constants: dict[str, cst.BaseExpression] = {}
        self._reported: set[tuple[int, int]] = set()

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        if ctx.relpath.endswith(".py"):
            if b"sk-lf-" in source or b"pk-lf-" in source:
                return True
            # "Basic"/"Bearer" headers matter only where OTLP or Langfuse credentials go:
            # urllib, email and HTTP clients are full of them.
            if not any(marker in source for marker in _CREDENTIAL_CONTEXT):
                return False
            return _PYTHON_TRIGGER.search(source) is not None
        return any(trigger in source for trigger in cls.TEXT_TRIGGERS)

    # -- config files ---------------------------------------------------------------------

    def check_text(self, text: str, ctx: FileContext) -> Iterable[Finding]:
        return config_findings(self.CODE, text, ctx, message=config_message)

    # -- Python ---------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        self.constants = module_constants(self, node)

    def visit_Assign(self, node: cst.Assign) -> None:
        self._check_env(node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._check_env(node)

    def visit_Call(self, node: cst.Call) -> None:
        self._check_env(node)
        names = callee_names(self, node)
        if not names:
            return
        init_functions = {SOMATRACE_INIT, *self.ctx.config.init_functions, *TRACELOOP_INIT}
        if any(_is_otlp_exporter(n) for n in names) or names & init_functions:
            self._check_headers(node)
        elif any(_is_langfuse_client(n) for n in names):
            for name, variable in LANGFUSE_KEYWORDS.items():
                arg = keyword(node, name)
                if arg is not None:
                    self._check_literal(variable, arg.value, f"`Langfuse({name}=...)`")

    def _check_env(self, node: cst.CSTNode) -> None:
        for name, value in environ_writes(self, node, self.constants):
            if name in KEY_VARS or name in HEADER_VARS:
                self._check_literal(name, value, f"`{name}` set in code")

    def _check_literal(self, variable: str, value: cst.BaseExpression, what: str) -> None:
        text = constant_string(self, value, self.constants)
        if text is not None:
            self._report_secrets(
                value, evaluate_var(variable, text, policy_for(self.ctx.config)), what
            )

    def _check_headers(self, call: cst.Call) -> None:
        arg = keyword(call, "headers")
        if arg is None:
            return
        policy = policy_for(self.ctx.config)
        mapping = literal_mapping(self, arg.value, self.constants)
        if mapping is not None:
            items = list(mapping.items)
        else:
            items = self._header_pairs(arg.value)
            if not items:
                self._check_literal("OTEL_EXPORTER_OTLP_HEADERS", arg.value, "`headers=` string")
                return
        for header, value in items:
            text = constant_string(self, value, self.constants)
            if text is not None:
                found = header_violations(header, text, policy)
                self._report_secrets(value, found, f"header '{header}' given to the exporter")

    def _header_pairs(self, node: cst.BaseExpression) -> list[tuple[str, cst.BaseExpression]]:
        """``(("authorization", "Basic ..."),)``: gRPC exporters' metadata as pairs."""
        node = resolve_constant(self, node, self.constants)
        if not isinstance(node, cst.Tuple | cst.List):
            return []
        pairs: list[tuple[str, cst.BaseExpression]] = []
        for element in node.elements:
            pair = element.value
            if isinstance(pair, cst.Tuple | cst.List) and len(pair.elements) == 2:
                name = constant_string(self, pair.elements[0].value, self.constants)
                if name is not None:
                    pairs.append((name, pair.elements[1].value))
        return pairs

    def _report_secrets(
        self, node: cst.BaseExpression, found: list[EnvViolation], what: str
    ) -> None:
        for violation in found:
            if violation.code != CODE_HARDCODED_SECRET:
                continue
            position = self.get_metadata(PositionProvider, node).start
            key = (position.line, position.column)
            if key in self._reported:
                continue
            self._reported.add(key)
            data: dict[str, Any] = {"masked_value": violation.masked_value}
            self.report(
                node,
                f"{what} is a literal credential ({violation.masked_value}); read it from the "
                "environment (filled from a Secret) instead, and rotate it",
                data=data,
            )

    VALID: ClassVar[list[Valid]] = [
        Valid(
            """
            import os

            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(
                endpoint="http://langfuse-web:3000/api/public/otel/v1/traces",
                headers={"Authorization": "Basic " + os.environ["LANGFUSE_AUTH"]},
            )
            os.environ.setdefault("LANGFUSE_SECRET_KEY", os.environ["LF_SECRET"])
            """,
            why="credentials read from the environment",
        ),
        Valid(
            """
            import requests

            requests.get("https://example.com", headers={"Authorization": "Basic dXNlcjpwdw=="})
            """,
            why="not an OTLP exporter (other rules and tools judge HTTP clients)",
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
                        - name: LANGFUSE_SECRET_KEY
                          valueFrom:
                            secretKeyRef: {name: langfuse, key: secret-key}
                        - name: OTEL_EXPORTER_OTLP_HEADERS
                          value: "Authorization=Basic $(LANGFUSE_AUTH)"
            """,
            path="deploy/k8s/billing.yaml",
            why="a secretKeyRef and a reference",
        ),
        Valid(
            """
            LANGFUSE_PUBLIC_KEY=${LANGFUSE_PUBLIC_KEY}
            LANGFUSE_SECRET_KEY=
            """,
            path=".env",
        ),
        Valid(
            """
            exporters:
              otlphttp/langfuse:
                endpoint: http://langfuse-web:3000/api/public/otel
                headers:
                  Authorization: "Basic ${env:LANGFUSE_AUTH}"
            """,
            path="deploy/collector/config.yaml",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            """
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(
                endpoint="http://langfuse-web:3000/api/public/otel/v1/traces",
                headers={"Authorization": "Basic cGstbGYtMTIzNDpzay1sZi01Njc4"},
            )
            """,
            line=5,
            col=31,
            message="Basic ****",
        ),
        Invalid(
            """
            import os as system

            SECRET = "sk-lf-0a1b2c3d4e5f"
            system.environ["LANGFUSE_SECRET_KEY"] = SECRET
            """,
            line=4,
            col=41,
            message="sk-lf-****",
        ),
        Invalid(
            """
            from langfuse import Langfuse

            client = Langfuse(public_key="pk-lf-1234", secret_key="sk-lf-5678")
            """,
            line=3,
            count=2,
        ),
        Invalid(
            """
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            METADATA = (("authorization", "Bearer sk-lf-5678"),)
            exporter = OTLPSpanExporter(endpoint="collector:4317", headers=METADATA)
            """,
            line=3,
            col=31,
            why="gRPC metadata pairs through a module constant",
        ),
        Invalid(
            """
            from somatrace.tracing import init_tracing

            init_tracing("billing", headers={"x-langfuse-secret": "sk-lf-5678"})
            """,
            line=3,
            col=55,
        ),
        Invalid(
            """
            services:
              api:
                environment:
                  - OTEL_EXPORTER_OTLP_HEADERS=Authorization=Basic%20cGs6c2s%3D
                  - LANGFUSE_SECRET_KEY=sk-lf-0a1b2c3d
            """,
            path="compose.yaml",
            line=4,
            col=36,
            count=2,
        ),
        Invalid(
            """
            apiVersion: v1
            kind: Secret
            metadata: {name: langfuse}
            stringData:
              LANGFUSE_SECRET_KEY: sk-lf-0a1b2c3d
            """,
            path="deploy/k8s/langfuse-secret.yaml",
            line=5,
            col=24,
            message="ExternalSecret",
        ),
        Invalid(
            """
            exporters:
              otlphttp/langfuse:
                headers:
                  x-langfuse-secret: sk-lf-0a1b2c3d
            """,
            path="deploy/collector/config.yaml",
            line=4,
            col=26,
            message="exporter header",
        ),
        Invalid(
            """
            FROM python:3.11-slim
            ENV LANGFUSE_PUBLIC_KEY pk-lf-0a1b2c3d
            """,
            path="services/billing/Dockerfile",
            line=2,
            col=25,
        ),
    ]
