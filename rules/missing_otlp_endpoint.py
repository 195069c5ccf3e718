"""ST403 missing-otlp-endpoint: reported by `somatrace deploy validate` and
`somatrace audit-cluster` for workloads, which see a container's whole environment."""

from __future__ import annotations

from somatrace.checks.lint.codes import MISSING_OTLP_ENDPOINT
from somatrace.checks.lint.rule import Rule


class MissingOtlpEndpoint(Rule):
    """A workload container sets no `OTEL_EXPORTER_OTLP_ENDPOINT`.

    ## What it does
    Reports a container (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod ...) whose
    environment — its `env` list, the ConfigMaps and Secrets it loads with `envFrom`, a Helm
    release's `additionalEnv` — names neither `OTEL_EXPORTER_OTLP_ENDPOINT` nor
    `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`. Only `somatrace deploy validate` (manifests and
    values, offline) and `somatrace audit-cluster` (a live cluster) report it: they see a
    container's complete environment, which a single config file or source file cannot prove.

    ## Why is this bad?
    Without an endpoint the spine falls back to its built-in default
    (`somatrace.policy.DEFAULT_ENDPOINT`, the in-cluster Langfuse web service); a service
    deployed anywhere else exports into the void and no span is ever seen, so its LLM calls
    are untraced and uncosted.

    ## Example
    ```yaml
    containers:
      - name: chat-api
        image: registry.example/chat-api:1.4
        env:
          - name: TRACE_CONTENT
            value: "false"
    ```

    ## Use instead
    ```yaml
    containers:
      - name: chat-api
        image: registry.example/chat-api:1.4
        envFrom:
          - configMapRef:
              name: otel-defaults   # OTEL_EXPORTER_OTLP_ENDPOINT, content off, sampling 1.0
    ```

    A workload that deliberately exports nothing carries the annotation
    `somatrace.dev/trace-exempt: "<reason>"`, which silences this finding only.

    ## Fix safety
    No fix: the endpoint is a deployment decision.
    """

    CODE = MISSING_OTLP_ENDPOINT
    NAME = "missing-otlp-endpoint"
