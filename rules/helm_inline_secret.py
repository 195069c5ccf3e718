"""DV202 helm-inline-secret: reported by ``somatrace deploy validate``."""

from __future__ import annotations

from somatrace.checks.lint.codes import DEPLOY_INLINE_SECRET
from somatrace.checks.lint.rule import FixAvailability, Rule


class HelmInlineSecret(Rule):
    """A Helm value holds a secret inline instead of a reference.

    ## What it does
    Reports Langfuse chart values that take a secret (`salt`, `encryptionKey`,
    `nextauth.secret`, S3 keys, SSO client secrets, database passwords) and are given as a
    literal instead of a `secretKeyRef`/`existingSecret`. The value is never printed.

    ## Why is this bad?
    A secret in a values file lives in the repository, its forks and CI logs, and cannot be
    rotated without a commit; the platform's secrets come from Vault through External Secrets.

    ## Example
    ```yaml
    langfuse:
      salt:
        value: "not-so-secret"
    ```

    ## Use instead
    ```yaml
    langfuse:
      salt:
        secretKeyRef: {name: langfuse, key: salt}
    ```

    ## Fix safety
    No automatic fix: `somatrace deploy validate` reports; the deployment's owner decides.
    Suppress one finding with `# noqa: DV202` on its line.
    """

    CODE = DEPLOY_INLINE_SECRET
    NAME = "helm-inline-secret"
    FIX = FixAvailability.NONE
