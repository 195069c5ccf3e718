"""DV204 helm-values-file: reported by ``somatrace deploy validate``."""

from __future__ import annotations

from somatrace.checks.lint.codes import DEPLOY_VALUES_FILE
from somatrace.checks.lint.rule import FixAvailability, Rule


class HelmValuesFile(Rule):
    """A values file a helmfile release names is missing or unusable.

    ## What it does
    Reports a `values:` entry that does not exist, a template that does not render offline, or a
    values file that is not a mapping. Files outside the project are never read.

    ## Why is this bad?
    helmfile stops at apply time, or — with a `missingFileHandler` — deploys without the values,
    so the release runs with the chart's defaults.

    ## Example
    ```yaml
    releases:
      - name: langfuse
        values: [values-prd.yaml]
    ```

    ## Use instead
    ```yaml
    releases:
      - name: langfuse
        values: [values-prod.yaml]
    ```

    ## Fix safety
    No automatic fix: `somatrace deploy validate` reports; the deployment's owner decides.
    Suppress one finding with `# noqa: DV204` on its line.
    """

    CODE = DEPLOY_VALUES_FILE
    NAME = "helm-values-file"
    FIX = FixAvailability.NONE
