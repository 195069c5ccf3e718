"""DV301 missing-secret: reported by ``somatrace deploy validate``."""

from __future__ import annotations

from somatrace.checks.lint.codes import DEPLOY_MISSING_SECRET
from somatrace.checks.lint.rule import FixAvailability, Rule


class MissingSecret(Rule):
    """A workload or value reads a Secret that nothing provides.

    ## What it does
    Follows every `secretKeyRef`, `envFrom.secretRef`, `existingSecret` and mounted secret to
    the `ExternalSecret` (or `Secret`) in the validated directory that provides it, key by key.

    ## Why is this bad?
    A pod that reads a missing Secret never starts (`CreateContainerConfigError`); a missing key
    fails the same way, long after the deployment looked green.

    ## Example
    ```yaml
    env:
      - name: LANGFUSE_SECRET_KEY
        valueFrom:
          secretKeyRef: {name: langfuse-api, key: secret-key}
    ```
    with no `ExternalSecret` producing `langfuse-api`.

    ## Use instead
    Add the `ExternalSecret` (with that key) that renders the Secret from Vault.

    ## Fix safety
    No automatic fix: `somatrace deploy validate` reports; the deployment's owner decides.
    Suppress one finding with `# noqa: DV301` on its line.
    """

    CODE = DEPLOY_MISSING_SECRET
    NAME = "missing-secret"
    FIX = FixAvailability.NONE
