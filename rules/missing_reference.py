"""DV303 missing-reference: reported by ``somatrace deploy validate``."""

from __future__ import annotations

from somatrace.checks.lint.codes import DEPLOY_MISSING_REFERENCE
from somatrace.checks.lint.rule import FixAvailability, Rule


class MissingReference(Rule):
    """An object refers to another object that is not in the deployment.

    ## What it does
    Follows ConfigMap references (`envFrom.configMapRef`, volumes), ServiceAccounts,
    RoleBindings' roles and subjects, and SecretStores named by ExternalSecrets to the objects
    of the validated directory.

    ## Why is this bad?
    A dangling reference fails at run time: a pod without its ConfigMap does not start, an
    ExternalSecret with an unknown store never syncs.

    ## Example
    ```yaml
    envFrom:
      - configMapRef: {name: otel-default}
    ```

    ## Use instead
    ```yaml
    envFrom:
      - configMapRef: {name: otel-defaults}
    ```

    ## Fix safety
    No automatic fix: `somatrace deploy validate` reports; the deployment's owner decides.
    Suppress one finding with `# noqa: DV303` on its line.
    """

    CODE = DEPLOY_MISSING_REFERENCE
    NAME = "missing-reference"
    FIX = FixAvailability.NONE
