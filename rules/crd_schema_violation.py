"""DV102 crd-schema-violation: reported by ``somatrace deploy validate``."""

from __future__ import annotations

from somatrace.checks.lint.codes import DEPLOY_CRD_SCHEMA
from somatrace.checks.lint.rule import FixAvailability, Rule


class CrdSchemaViolation(Rule):
    """A custom resource does not match its CRD schema.

    ## What it does
    Validates custom resources whose schema somatrace ships (External Secrets
    `ExternalSecret`/`SecretStore` v1, Prometheus Operator `PrometheusRule` v1) against that
    schema.

    ## Why is this bad?
    The operator rejects an invalid resource or ignores its fields: an `ExternalSecret` with a
    misspelt `remoteRef` never syncs, and the workload that reads the Secret never starts.

    ## Example
    ```yaml
    apiVersion: external-secrets.io/v1
    kind: ExternalSecret
    spec:
      data:
        - secretKey: secret-key
          remoteref: {key: observability/langfuse}
    ```

    ## Use instead
    ```yaml
    apiVersion: external-secrets.io/v1
    kind: ExternalSecret
    spec:
      data:
        - secretKey: secret-key
          remoteRef: {key: observability/langfuse}
    ```

    ## Fix safety
    No automatic fix: `somatrace deploy validate` reports; the deployment's owner decides.
    Suppress one finding with `# noqa: DV102` on its line.
    """

    CODE = DEPLOY_CRD_SCHEMA
    NAME = "crd-schema-violation"
    FIX = FixAvailability.NONE
