"""ST401 hardcoded-otlp-secret."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any, ClassVar

from somatrace.checks.analysis.environ import environ_writes, may_write_environ
from somatrace.checks.analysis.traceloop_init import TRACELOOP_INIT
from somatrace.checks.analysis.values import constant_string, literal_mapping, resolve_constant
from somatrace.checks.config_files import FILE_PATTERNS
from somatrace.checks.config_files.evaluate import (
    LocatedViolation,
    config_findings,
    header_violations,
    policy_for,
)
from somatrace.checks.lint.codes import HARDCODED_OTLP_SECRET
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.module import Module, Scope, keyword_arg
from somatrace.checks.lint.rule import (
    Expect,
    FileContext,
    FixAvailability,
    Invalid,
    PythonRule,
    TextRule,
    Valid,
)
from somatrace.checks.policy.environ import (
    CODE_HARDCODED_SECRET,
    HEADER_VARS,
    KEY_VARS,
    EnvViolation,
    evaluate_var,
)
from somatrace.policy import INIT_TRACING

# Langfuse client constructors and their credential keywords -> the env var they stand for.
LANGFUSE_KEYWORDS = {"secret_key": "LANGFUSE_SECRET_KEY", "public_key": "LANGFUSE_PUBLIC_KEY"}
# A literal credential can only be in a file that spells one of these (any case).
# In a file's lowercased bytes (FileContext.lowered): a Langfuse key, its secret header, or a
# literal Basic/Bearer credential (`"Basic `, `'Bearer%20`, `=basic `).
_KEY_MARKERS = (b"sk-lf-", b"pk-lf-", b"x-langfuse-secret")
_SCHEMES = (b"basic", b"bearer")
_BEFORE_SCHEME = frozenset(b"\"'=")


def _python_trigger(lowered: bytes) -> bool:
    """Whether ``lowered`` holds a Langfuse key or a literal Basic/Bearer credential: the
    case-insensitive ``sk-lf-|pk-lf-|x-langfuse-secret|["'=](?:basic|bearer)(?: |%20)``,
    as substring searches (tests/rules/test_screens.py holds the two to the same answers)."""
    if any(marker in lowered for marker in _KEY_MARKERS):
        return True
    for scheme in _SCHEMES:
        at = lowered.find(scheme, 1)
        while at != -1:
            end = at + len(scheme)
            if lowered[at - 1] in _BEFORE_SCHEME and (
                lowered.startswith(b" ", end) or lowered.startswith(b"%20", end)
            ):
                return True
            at = lowered.find(scheme, at + 1)
    return False


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
_CREDENTIAL_CONTEXT_LOWERED = tuple(dict.fromkeys(m.lower() for m in _CREDENTIAL_CONTEXT))


# Where `check` reads a literal credential, and what a file that holds one spells: an
# environment write, an OTLP exporter's or an init function's `headers=` (the class's or the
# function's last name is in the file: in its import, also under an alias), a Langfuse client's
# key keywords. A key in a docstring example, or a "Bearer " header of an HTTP client, is none of
# them (on llm-stack 20 files were parsed for ST401 alone, 1.1 MB; none holds a finding).
_EXPORTER_SUFFIX = "Exporter"  # `OTLPSpanExporter`, `OTLPMetricExporter`, ...
_EXPORTER_WORDS = (_EXPORTER_SUFFIX.encode(),)  # a collection: the screen scan harvests it
_TRACELOOP_WORDS = tuple(sorted({name.split(".")[-2].encode() for name in TRACELOOP_INIT}))
_LANGFUSE_KEY_WORDS = tuple(keyword.encode() for keyword in LANGFUSE_KEYWORDS)


# The variables an environment write is checked for: `check` reads the name as a string literal
# of the file (directly or through one of its module constants), so the file spells it. On
# llm-stack 10 of the 26 files this screen let through write only other variables, 9 of them
# parsed for ST401 alone (litellm's main.py, 349 KB, among them); none holds a finding.
_CHECKED_VAR_WORDS = tuple(sorted(name.encode() for name in (*KEY_VARS, *HEADER_VARS)))


def _may_hand_over_a_credential(source: bytes, ctx: FileContext) -> bool:
    if may_write_environ(source) and any(word in source for word in _CHECKED_VAR_WORDS):
        return True
    if b"headers" in source and (
        any(word in source for word in _EXPORTER_WORDS)
        or any(word in source for word in ctx.config.checked_init_words)
        or any(word in source for word in _TRACELOOP_WORDS)  # `Traceloop.init`, `T.init`
    ):
        return True
    return b"Langfuse" in source and any(word in source for word in _LANGFUSE_KEY_WORDS)


def _is_otlp_exporter(name: str) -> bool:
    return name.startswith("opentelemetry.exporter.otlp.") and name.endswith(_EXPORTER_SUFFIX)


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

    CODE = HARDCODED_OTLP_SECRET
    NAME = "hardcoded-otlp-secret"
    FILE_PATTERNS = FILE_PATTERNS
    TRIGGERS = (b"sk-lf-", b"pk-lf-", b"x-langfuse-secret", b'"Basic ', b"'Basic ")
    FIX = FixAvailability.NONE
    TEXT_TRIGGERS: ClassVar[tuple[bytes, ...]] = (
        *_CHECKED_VAR_WORDS,
        b"x-langfuse-secret",
        b"uthorization",
        b"UTHORIZATION",
    )

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        if ctx.relpath.endswith(".py"):
            if not _may_hand_over_a_credential(source, ctx):
                return False
            if b"sk-lf-" in source or b"pk-lf-" in source:
                return True
            # "Basic"/"Bearer" headers matter only where OTLP or Langfuse credentials go:
            # urllib, email and HTTP clients are full of them.
            # Four searches of the lowercased bytes rule out most files before the eight
            # exact-case ones (the lowercased markers are a necessary condition for them).
            lowered = ctx.lowered(source)
            if not any(marker in lowered for marker in _CREDENTIAL_CONTEXT_LOWERED):
                return False
            if not any(marker in source for marker in _CREDENTIAL_CONTEXT):
                return False
            return _python_trigger(lowered)
        return any(trigger in source for trigger in cls.TEXT_TRIGGERS)

    # -- config files ---------------------------------------------------------------------

    def check_text(self, text: str, ctx: FileContext) -> Iterable[Finding]:
        return config_findings(self.CODE, text, ctx, message=config_message)

    # -- Python ---------------------------------------------------------------------------

    def check(self, module: Module) -> None:
        self._reported: set[tuple[int, int]] = set()
        self.policy = policy_for(self.ctx.config)
        for write in environ_writes(module):
            if write.name in KEY_VARS or write.name in HEADER_VARS:
                self._check_literal(
                    module, write.name, write.value, write.scope, f"`{write.name}` set in code"
                )
        init_functions = {INIT_TRACING, *self.ctx.config.init_functions, *TRACELOOP_INIT}
        for call, scope in module.calls:
            names = module.qualified_names(call.func, scope)
            if not names:
                continue
            if any(_is_otlp_exporter(n) for n in names) or names & init_functions:
                self._check_headers(module, call, scope)
            elif any(_is_langfuse_client(n) for n in names):
                for name, variable in LANGFUSE_KEYWORDS.items():
                    kw = keyword_arg(call, name)
                    if kw is not None:
                        self._check_literal(
                            module, variable, kw.value, scope, f"`Langfuse({name}=...)`"
                        )

    def _check_literal(
        self, module: Module, variable: str, value: ast.expr, scope: Scope, what: str
    ) -> None:
        text = constant_string(module, value, scope)
        if text is not None:
            self._report_secrets(value, evaluate_var(variable, text, self.policy), what)

    def _check_headers(self, module: Module, call: ast.Call, scope: Scope) -> None:
        kw = keyword_arg(call, "headers")
        if kw is None:
            return
        mapping = literal_mapping(module, kw.value, scope)
        if mapping is not None:
            items = [(key, value, value_scope) for key, _, value, value_scope in mapping.items]
        else:
            pairs = self._header_pairs(module, kw.value, scope)
            if not pairs:
                self._check_literal(
                    module, "OTEL_EXPORTER_OTLP_HEADERS", kw.value, scope, "`headers=` string"
                )
                return
            items = pairs
        for header, value, value_scope in items:
            text = constant_string(module, value, value_scope)
            if text is not None:
                found = header_violations(header, text, self.policy)
                self._report_secrets(value, found, f"header '{header}' given to the exporter")

    def _header_pairs(
        self, module: Module, node: ast.expr, scope: Scope
    ) -> list[tuple[str, ast.expr, Scope]]:
        """``(("authorization", "Basic ..."),)``: gRPC exporters' metadata as pairs."""
        resolved = resolve_constant(module, node, scope)
        inner = scope if resolved is node else module.scope
        if type(resolved) not in (ast.Tuple, ast.List):
            return []
        pairs: list[tuple[str, ast.expr, Scope]] = []
        for pair in resolved.elts:  # type: ignore[attr-defined]
            if type(pair) in (ast.Tuple, ast.List) and len(pair.elts) == 2:  # type: ignore[attr-defined]
                name = constant_string(module, pair.elts[0], inner)  # type: ignore[attr-defined]
                if name is not None:
                    pairs.append((name, pair.elts[1], inner))  # type: ignore[attr-defined]
        return pairs

    def _report_secrets(self, node: ast.expr, found: list[EnvViolation], what: str) -> None:
        for violation in found:
            if violation.code != CODE_HARDCODED_SECRET:
                continue
            key = (node.lineno, node.col_offset)
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
            expect=(
                Expect(
                    3, 30, "`Langfuse(public_key=...)` is a literal credential (pk-lf-****(10 char"
                ),
                Expect(
                    3, 55, "`Langfuse(secret_key=...)` is a literal credential (sk-lf-****(10 char"
                ),
            ),
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
            expect=(
                Expect(
                    4, 36, "OTEL_EXPORTER_OTLP_HEADERS holds a literal credential in header 'autho"
                ),
                Expect(
                    5, 29, "LANGFUSE_SECRET_KEY holds a literal Langfuse key (sk-lf-****(14 chars)"
                ),
            ),
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
