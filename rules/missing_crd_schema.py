"""DV103 missing-crd-schema: reported by ``somatrace deploy validate``."""

from __future__ import annotations

from somatrace.checks.lint.codes import DEPLOY_NO_SCHEMA
from somatrace.checks.lint.rule import FixAvailability, Rule


class MissingCrdSchema(Rule):
    """A custom resource has no schema to validate it against.

    ## What it does
    Reports an object of an API group outside Kubernetes' own (`*.k8s.io` and the core groups)
    for which somatrace ships no schema, so it cannot be validated offline.

    ## Why is this bad?
    An unvalidated resource may carry any mistake; the finding keeps the gap visible instead of
    passing silently. Add the CRD's schema under `checks/deploy/schemas/` (with its origin) or
    exclude the file.

    ## Example
    ```yaml
    apiVersion: monitoring.example.com/v1
    kind: Probe
    ```

    ## Use instead
    Ship the CRD's schema, or move the resource out of the validated directory.

    ## Fix safety
    No automatic fix: `somatrace deploy validate` reports; the deployment's owner decides.
    Suppress one finding with `# noqa: DV103` on its line.
    """

    CODE = DEPLOY_NO_SCHEMA
    NAME = "missing-crd-schema"
    FIX = FixAvailability.NONE
