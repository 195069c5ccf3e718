"""ST402 sampling-below-policy."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import ClassVar

import libcst as cst
from libcst.metadata import PositionProvider, ProviderT, ScopeProvider

from somatrace.checks.analysis.names import (
    callee_names,
    constant_string,
    environ_writes,
    keyword,
    module_constants,
    qualified_names,
    resolve_constant,
)
from somatrace.checks.config_files import FILE_PATTERNS
from somatrace.checks.config_files.evaluate import config_findings, policy_for
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.rule import FileContext, Invalid, PythonRule, TextRule, Valid
from somatrace.checks.policy.environ import CODE_SAMPLING_BELOW_POLICY, EnvVar, evaluate_env

SOMATRACE_INIT = "somatrace.tracing.init_tracing"
_SAMPLING = "opentelemetry.sdk.trace.sampling."
RATIO_SAMPLERS = frozenset({_SAMPLING + "TraceIdRatioBased", _SAMPLING + "ParentBasedTraceIdRatio"})
OFF_SAMPLERS = frozenset({_SAMPLING + "ALWAYS_OFF", _SAMPLING + "DEFAULT_OFF"})
# Environment variables whose value matters for sampling (the policy decides how).
SAMPLING_VARS = frozenset(
    {
        "LANGFUSE_SAMPLING_RATE",
        "LANGFUSE_SAMPLE_RATE",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG",
    }
)


def _is_langfuse_client(name: str) -> bool:
    return name.split(".", 1)[0] == "langfuse" and name.rsplit(".", 1)[-1] == "Langfuse"


def number_value(node: cst.BaseExpression, text: str | None) -> Decimal | None:
    """A literal number (``0.1``, ``-1``, ``1e-2``) or a numeric string, as a Decimal."""
    if text is not None:
        raw = text.strip()
    elif isinstance(node, cst.Integer | cst.Float):
        raw = node.value.replace("_", "")
    elif (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer | cst.Float)
    ):
        raw = "-" + node.expression.value.replace("_", "")
    else:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return None if value.is_nan() else value


class SamplingBelowPolicy(PythonRule, TextRule):
    """A trace sampling rate below the policy's minimum.

    ## What it does
    Reports a head-sampling rate below `min-sampling-rate` (default 1.0: keep every trace):

    - `LANGFUSE_SAMPLING_RATE` / `LANGFUSE_SAMPLE_RATE` below the minimum,
      `OTEL_TRACES_SAMPLER_ARG` below it with a ratio sampler (`traceidratio`,
      `parentbased_traceidratio`) in the same environment, and an `always_off` sampler — in
      `.env*` files, Kubernetes, Helm, compose, workflows, Dockerfiles, and set via `os.environ`;
    - `sample_rate=` given to `init_tracing` (or a configured `init-function`) or to a Langfuse
      client;
    - `TraceIdRatioBased(x)` / `ParentBasedTraceIdRatio(x)` with a literal rate, and the
      `ALWAYS_OFF` / `DEFAULT_OFF` samplers.

    Rates only known at run time (a setting, `${RATE}`) are not judged here.

    ## Why is this bad?
    The fleet's launch policy keeps every trace: cost attribution per tenant, RAG evaluation
    and incident forensics all read complete traces. A sampled-out request has no cost, no tags
    and no evidence, and the loss is silent. Sampling decisions belong in the backend
    (Langfuse retention, tail sampling), not in each service.

    ## Example
    ```python
    from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
    from somatrace.tracing import init_tracing

    init_tracing("billing", sample_rate=0.1)
    sampler = TraceIdRatioBased(0.25)
    ```

    ## Use instead
    ```python
    from somatrace.tracing import init_tracing

    init_tracing("billing")  # samples every trace
    ```

    ## Fix safety
    No automatic fix: raising the rate changes export volume and cost, which the owner of the
    service should decide (or lower `min-sampling-rate` in `[tool.somatrace]`).
    """

    CODE = "ST402"
    NAME = "sampling-below-policy"
    FILE_PATTERNS = FILE_PATTERNS
    TRIGGERS = (
        b"sample_rate",
        b"TraceIdRatio",
        b"SAMPLING_RATE",
        b"SAMPLE_RATE",
        b"OTEL_TRACES_SAMPLER",
        b"ALWAYS_OFF",
        b"DEFAULT_OFF",
    )
    TEXT_TRIGGERS: ClassVar[tuple[bytes, ...]] = (
        b"SAMPLING_RATE",
        b"SAMPLE_RATE",
        b"OTEL_TRACES_SAMPLER",
    )
    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        PositionProvider,
        ScopeProvider,
    )

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.constants: dict[str, cst.BaseExpression] = {}
        self.env: list[EnvVar] = []
        self.env_nodes: dict[tuple[str, int], cst.BaseExpression] = {}
        self._reported: set[tuple[int, int]] = set()

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        triggers = cls.TRIGGERS if ctx.relpath.endswith(".py") else cls.TEXT_TRIGGERS
        return any(trigger in source for trigger in triggers)

    # -- config files ---------------------------------------------------------------------

    def check_text(self, text: str, ctx: FileContext) -> Iterable[Finding]:
        return config_findings(self.CODE, text, ctx)

    # -- Python ---------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        self.constants = module_constants(self, node)

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        self._collect_env(node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._collect_env(node)

    def visit_Name(self, node: cst.Name) -> None:
        self._check_off_sampler(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._check_off_sampler(node)

    def visit_Call(self, node: cst.Call) -> None:
        self._collect_env(node)
        names = callee_names(self, node)
        if not names:
            return
        if names & RATIO_SAMPLERS:
            positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
            arg = positional[0] if positional else keyword(node, "rate")
            if arg is not None:
                sampler = sorted(names & RATIO_SAMPLERS)[0].rsplit(".", 1)[-1]
                self._check_rate(arg.value, f"`{sampler}({{rate}})`")
        elif names & {SOMATRACE_INIT, *self.ctx.config.init_functions}:
            arg = keyword(node, "sample_rate")
            if arg is not None:
                self._check_rate(arg.value, "`init_tracing(sample_rate={rate})`")
        elif any(_is_langfuse_client(n) for n in names):
            arg = keyword(node, "sample_rate")
            if arg is not None:
                self._check_rate(arg.value, "`Langfuse(sample_rate={rate})`")

    def leave_Module(self, original_node: cst.Module) -> None:
        # The policy judges the environment the module sets as a whole (a ratio sampler's
        # argument counts only with the sampler), like a container's env.
        policy = policy_for(self.ctx.config)
        for violation in evaluate_env(self.env, policy):
            if violation.code != CODE_SAMPLING_BELOW_POLICY:
                continue
            node = self.env_nodes.get((violation.name, violation.line or 0))
            if node is not None:
                self._report_once(node, f"{violation.message} (set in code)")

    def _collect_env(self, node: cst.CSTNode) -> None:
        for name, value in environ_writes(self, node, self.constants):
            if name not in SAMPLING_VARS:
                continue
            text = constant_string(self, value, self.constants)
            if text is None:
                continue
            line = self.get_metadata(PositionProvider, value).start.line
            self.env.append(EnvVar(name, text, line))
            self.env_nodes[(name, line)] = value

    def _check_rate(self, value: cst.BaseExpression, template: str) -> None:
        resolved = resolve_constant(self, value, self.constants)
        rate = number_value(resolved, constant_string(self, value, self.constants))
        minimum = policy_for(self.ctx.config).min_sampling_rate
        if rate is None or rate >= minimum:
            return
        self._report_once(
            value,
            f"{template.format(rate=rate)} samples below policy (minimum {minimum}): "
            "sampled-out requests lose their cost, tags and evidence; keep every trace",
        )

    def _check_off_sampler(self, node: cst.Name | cst.Attribute) -> None:
        if qualified_names(self, node) & OFF_SAMPLERS:
            minimum = policy_for(self.ctx.config).min_sampling_rate
            if minimum > 0:
                name = node.value if isinstance(node, cst.Name) else node.attr.value
                self._report_once(
                    node, f"the `{name}` sampler drops every trace (policy minimum {minimum})"
                )

    def _report_once(self, node: cst.CSTNode, message: str) -> None:
        position = self.get_metadata(PositionProvider, node).start
        key = (position.line, position.column)
        if key not in self._reported:
            self._reported.add(key)
            self.report(node, message)

    VALID: ClassVar[list[Valid]] = [
        Valid(
            """
            import os

            from opentelemetry.sdk.trace.sampling import ALWAYS_ON, TraceIdRatioBased
            from somatrace.tracing import init_tracing

            init_tracing("billing", sample_rate=1.0)
            sampler = TraceIdRatioBased(float(os.environ.get("RATE", "1")))
            fallback = ALWAYS_ON
            os.environ["OTEL_TRACES_SAMPLER"] = "always_on"
            os.environ["OTEL_TRACES_SAMPLER_ARG"] = "0.1"
            """,
            why="full rate, a run-time rate, and a ratio argument without a ratio sampler",
        ),
        Valid(
            """
            from somatrace.tracing import init_tracing

            init_tracing("billing", sample_rate=0.5)
            """,
            config={"min-sampling-rate": 0.5},
            why="the policy minimum is configurable",
        ),
        Valid(
            """
            env:
              LANGFUSE_SAMPLING_RATE: "1.0"
              OTEL_TRACES_SAMPLER: parentbased_always_on
              OTEL_TRACES_SAMPLER_ARG: "0.1"
            """,
            path="charts/billing/values.yaml",
        ),
        Valid(
            """
            LANGFUSE_SAMPLE_RATE=${SAMPLE_RATE}
            """,
            path=".env",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            """
            OTEL_EXPORTER_OTLP_ENDPOINT=http://langfuse-ingester.observability:4318
            OTEL_TRACES_SAMPLER_ARG=0.2
            """,
            path=".env",
            line=2,
            message="below policy",
            why="no sampler set: the spine's default ratio sampler honours the argument",
        ),
        Invalid(
            """
            from somatrace.tracing import init_tracing

            init_tracing("billing", sample_rate=0.1)
            """,
            line=3,
            col=37,
            message="below policy",
        ),
        Invalid(
            """
            from opentelemetry.sdk.trace import sampling

            RATE = 0.25
            provider_sampler = sampling.ParentBasedTraceIdRatio(RATE)
            """,
            line=4,
            col=53,
        ),
        Invalid(
            """
            from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
            from opentelemetry.sdk.trace import TracerProvider

            provider = TracerProvider(sampler=ALWAYS_OFF)
            """,
            line=4,
            col=35,
            message="drops every trace",
        ),
        Invalid(
            """
            import os

            os.environ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio"
            os.environ["OTEL_TRACES_SAMPLER_ARG"] = "0.05"
            """,
            line=4,
            col=41,
        ),
        Invalid(
            """
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: {name: rag}
            spec:
              template:
                spec:
                  initContainers:
                    - name: warmup
                      env:
                        - {name: LANGFUSE_SAMPLING_RATE, value: "1"}
                  containers:
                    - name: app
                      env:
                        - name: OTEL_TRACES_SAMPLER
                          value: traceidratio
                        - name: OTEL_TRACES_SAMPLER_ARG
                          value: "0.2"
            """,
            path="deploy/k8s/rag.yaml",
            line=17,
            col=22,
        ),
        Invalid(
            """
            name: nightly
            on: {schedule: [{cron: "0 3 * * *"}]}
            env:
              OTEL_TRACES_SAMPLER: traceidratio
            jobs:
              eval:
                runs-on: ubuntu-latest
                steps:
                  - run: python -m eval
                    env:
                      OTEL_TRACES_SAMPLER_ARG: "0.5"
            """,
            path=".github/workflows/nightly.yml",
            line=11,
            col=36,
            why="a step inherits the workflow's sampler",
        ),
        Invalid(
            """
            FROM python:3.11-slim
            ENV LANGFUSE_SAMPLE_RATE=0.5
            """,
            path="services/rag/Dockerfile",
            line=2,
            col=26,
        ),
    ]
