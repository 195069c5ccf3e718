"""DV201 helm-values-schema: reported by ``somatrace deploy validate``."""

from __future__ import annotations

from somatrace.checks.lint.codes import DEPLOY_VALUES_SCHEMA
from somatrace.checks.lint.rule import FixAvailability, Rule


class HelmValuesSchema(Rule):
    """Helm values do not match the chart's values schema.

    ## What it does
    Validates the values files a helmfile release uses, merged in order, against the chart's
    `values.schema.json` (shipped beside the helmfile): unknown keys are errors, types are
    checked. Secret values are never shown in messages.

    ## Why is this bad?
    Helm ignores keys the chart does not know: a misspelt `encryptionKey` deploys Langfuse with
    a generated key, and a restore later cannot read the data.

    ## Example
    ```yaml
    langfuse:
      encyptionKey:
        secretKeyRef: {name: langfuse, key: encryption-key}
    ```

    ## Use instead
    ```yaml
    langfuse:
      encryptionKey:
        secretKeyRef: {name: langfuse, key: encryption-key}
    ```

    ## Fix safety
    No automatic fix: `somatrace deploy validate` reports; the deployment's owner decides.
    Suppress one finding with `# noqa: DV201` on its line.
    """

    CODE = DEPLOY_VALUES_SCHEMA
    NAME = "helm-values-schema"
    FIX = FixAvailability.NONE
