"""ST402 sampling-below-policy."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import ClassVar

from somatrace.checks.analysis.environ import environ_writes, may_write_environ
from somatrace.checks.analysis.values import constant_string, number_value
from somatrace.checks.config_files import FILE_PATTERNS
from somatrace.checks.config_files.evaluate import config_findings, policy_for
from somatrace.checks.lint.codes import SAMPLING_BELOW_POLICY
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.module import Module, Scope, argument, keyword_arg
from somatrace.checks.lint.rule import (
    FileContext,
    FixAvailability,
    Invalid,
    PythonRule,
    TextRule,
    Valid,
)
from somatrace.checks.policy.environ import CODE_SAMPLING_BELOW_POLICY, EnvVar, evaluate_env
from somatrace.policy import INIT_TRACING, SAMPLER_ARG_VAR, SAMPLER_VAR, SAMPLING_RATE_VARS

_SAMPLING = "opentelemetry.sdk.trace.sampling."
RATIO_SAMPLERS = frozenset({_SAMPLING + "TraceIdRatioBased", _SAMPLING + "ParentBasedTraceIdRatio"})
OFF_SAMPLERS = frozenset({_SAMPLING + "ALWAYS_OFF", _SAMPLING + "DEFAULT_OFF"})
# Environment variables whose value matters for sampling (the policy decides how).
SAMPLING_VARS = frozenset({*SAMPLING_RATE_VARS, SAMPLER_VAR, SAMPLER_ARG_VAR})


_RATE_KEYWORD = b"sample_rate"
# A ratio sampler or an off sampler, read wherever it is named; the sampling variables' words,
# read from environment writes only.
_SPELLED_SAMPLERS = (b"TraceIdRatio", b"ALWAYS_OFF", b"DEFAULT_OFF")
_VARIABLE_WORDS = tuple(sorted(name.encode() for name in SAMPLING_VARS))


def _is_langfuse_client(name: str) -> bool:
    return name.split(".", 1)[0] == "langfuse" and name.rsplit(".", 1)[-1] == "Langfuse"


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

    CODE = SAMPLING_BELOW_POLICY
    NAME = "sampling-below-policy"
    FILE_PATTERNS = FILE_PATTERNS
    FIX = FixAvailability.NONE
    TRIGGERS = (_RATE_KEYWORD, *_SPELLED_SAMPLERS, *_VARIABLE_WORDS)
    TEXT_TRIGGERS: ClassVar[tuple[bytes, ...]] = (
        b"SAMPLING_RATE",
        b"SAMPLE_RATE",
        b"OTEL_TRACES_SAMPLER",
    )

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        if not ctx.relpath.endswith(".py"):
            return any(trigger in source for trigger in cls.TEXT_TRIGGERS)
        if any(trigger in source for trigger in _SPELLED_SAMPLERS):
            return True
        # The variables' names count only where the environment is written: audio code is full
        # of `SAMPLE_RATE` constants (on llm-stack 11 files, 0.5 MB, parsed for nothing).
        if may_write_environ(source) and any(name in source for name in _VARIABLE_WORDS):
            return True
        # `sample_rate=` is read only as an argument of the init function or a Langfuse
        # client, whose names the file then spells (imported, perhaps under an alias): audio
        # and metrics code is full of `sample_rate` (on llm-stack 31 files parsed for nothing).
        return _RATE_KEYWORD in source and (
            b"Langfuse" in source or any(word in source for word in ctx.config.checked_init_words)
        )

    # -- config files ---------------------------------------------------------------------

    def check_text(self, text: str, ctx: FileContext) -> Iterable[Finding]:
        return config_findings(self.CODE, text, ctx)

    # -- Python ---------------------------------------------------------------------------

    def check(self, module: Module) -> None:
        self._reported: set[tuple[int, int]] = set()
        self.minimum = policy_for(self.ctx.config).min_sampling_rate
        init_functions = {INIT_TRACING, *self.ctx.config.init_functions}
        for call, scope in module.calls:
            names = module.qualified_names(call.func, scope)
            if not names:
                continue
            if names & RATIO_SAMPLERS:
                arg = argument(call, 0, "rate")
                if arg is not None:
                    sampler = sorted(names & RATIO_SAMPLERS)[0].rsplit(".", 1)[-1]
                    self._check_rate(module, arg, scope, f"`{sampler}({{rate}})`")
            elif names & init_functions:
                kw = keyword_arg(call, "sample_rate")
                if kw is not None:
                    self._check_rate(module, kw.value, scope, "`init_tracing(sample_rate={rate})`")
            elif any(_is_langfuse_client(n) for n in names):
                kw = keyword_arg(call, "sample_rate")
                if kw is not None:
                    self._check_rate(module, kw.value, scope, "`Langfuse(sample_rate={rate})`")
        self._off_samplers(module)
        self._environment(module)

    def _environment(self, module: Module) -> None:
        # The policy judges the environment the module sets as a whole (a ratio sampler's
        # argument counts only with the sampler), like a container's env.
        env: list[EnvVar] = []
        nodes: dict[tuple[str, int], ast.expr] = {}
        for write in environ_writes(module):
            if write.name not in SAMPLING_VARS:
                continue
            text = constant_string(module, write.value, write.scope)
            if text is None:
                continue
            env.append(EnvVar(write.name, text, write.value.lineno))
            nodes[(write.name, write.value.lineno)] = write.value
        for violation in evaluate_env(env, policy_for(self.ctx.config)):
            if violation.code != CODE_SAMPLING_BELOW_POLICY:
                continue
            node = nodes.get((violation.name, violation.line or 0))
            if node is not None:
                self._report_once(node, f"{violation.message} (set in code)")

    def _check_rate(self, module: Module, value: ast.expr, scope: Scope, template: str) -> None:
        rate = number_value(module, value, scope)
        if rate is None or rate >= self.minimum:
            return
        self._report_once(
            value,
            f"{template.format(rate=rate)} samples below policy (minimum {self.minimum}): "
            "sampled-out requests lose their cost, tags and evidence; keep every trace",
        )

    def _off_samplers(self, module: Module) -> None:
        if self.minimum <= 0:
            return
        wanted = {name.rsplit(".", 1)[-1] for name in OFF_SAMPLERS}
        for node, scope in module.names_loaded(wanted):
            if module.qualified_names(node, scope) & OFF_SAMPLERS:
                name = node.id if type(node) is ast.Name else node.attr  # type: ignore[attr-defined]
                self._report_once(
                    node, f"the `{name}` sampler drops every trace (policy minimum {self.minimum})"
                )

    def _report_once(self, node: ast.expr, message: str) -> None:
        key = (node.lineno, node.col_offset)
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
            OTEL_EXPORTER_OTLP_ENDPOINT=http://langfuse-web.langfuse.svc.cluster.local:3000/api/public/otel
            OTEL_TRACES_SAMPLER_ARG=0.2
            """,
            path=".env",
            line=2,
            message="below policy",
            why="no sampler set: the spine's default ratio sampler honours the argument",
            col=25,
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
            from langfuse import Langfuse as Client

            client = Client(sample_rate=0.2)
            """,
            line=3,
            col=29,
            message="`Langfuse(sample_rate=0.2)` samples below policy",
            why="the client under an alias: the screen finds `Langfuse` in its import",
        ),
        Invalid(
            """
            from acme.obs import setup_tracing as setup

            setup("billing", sample_rate=0.5)
            """,
            config={"init-function": ["acme.obs.setup_tracing"]},
            line=3,
            col=30,
            message="`init_tracing(sample_rate=0.5)` samples below policy",
            why="a configured init function, called under an alias",
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
