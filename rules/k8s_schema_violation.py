"""DV101 k8s-schema-violation: reported by ``somatrace deploy validate``."""

from __future__ import annotations

from somatrace.checks.lint.codes import DEPLOY_K8S_SCHEMA
from somatrace.checks.lint.rule import FixAvailability, Rule


class K8sSchemaViolation(Rule):
    """A Kubernetes manifest does not match the API schema.

    ## What it does
    Validates every Kubernetes object against the official OpenAPI schema of the configured
    Kubernetes version (`--kubernetes-version`, bundled with `kubernetes-validate`), offline:
    unknown fields, wrong types, missing required fields. A YAML document that is neither a
    Kubernetes object nor a known config is reported too.

    ## Why is this bad?
    The API server rejects such a manifest at apply time, or drops unknown fields: a typo in
    `envFrom` or `resources` deploys a workload without its tracing settings or limits.

    ## Example
    ```yaml
    spec:
      containers:
        - name: app
          envfrom:
            - configMapRef: {name: otel-defaults}
    ```

    ## Use instead
    ```yaml
    spec:
      containers:
        - name: app
          envFrom:
            - configMapRef: {name: otel-defaults}
    ```

    ## Fix safety
    No automatic fix: `somatrace deploy validate` reports; the deployment's owner decides.
    Suppress one finding with `# noqa: DV101` on its line.
    """

    CODE = DEPLOY_K8S_SCHEMA
    NAME = "k8s-schema-violation"
    FIX = FixAvailability.NONE
