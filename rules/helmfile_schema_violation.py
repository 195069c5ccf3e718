"""DV203 helmfile-schema-violation: reported by ``somatrace deploy validate``."""

from __future__ import annotations

from somatrace.checks.lint.codes import DEPLOY_HELMFILE_SCHEMA
from somatrace.checks.lint.rule import FixAvailability, Rule


class HelmfileSchemaViolation(Rule):
    """A helmfile does not match helmfile's schema.

    ## What it does
    Validates `helmfile.yaml` documents against helmfile's schema (releases, repositories,
    environments), after rendering the parts somatrace can render offline.

    ## Why is this bad?
    helmfile fails or ignores the misspelt part at apply time: a release without its `namespace`
    lands in `default`.

    ## Example
    ```yaml
    releases:
      - name: langfuse
        chart: langfuse/langfuse
        namespce: langfuse
    ```

    ## Use instead
    ```yaml
    releases:
      - name: langfuse
        chart: langfuse/langfuse
        namespace: langfuse
    ```

    ## Fix safety
    No automatic fix: `somatrace deploy validate` reports; the deployment's owner decides.
    Suppress one finding with `# noqa: DV203` on its line.
    """

    CODE = DEPLOY_HELMFILE_SCHEMA
    NAME = "helmfile-schema-violation"
    FIX = FixAvailability.NONE
