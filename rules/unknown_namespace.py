"""DV302 unknown-namespace: reported by ``somatrace deploy validate``."""

from __future__ import annotations

from somatrace.checks.lint.codes import DEPLOY_UNKNOWN_NAMESPACE
from somatrace.checks.lint.rule import FixAvailability, Rule


class UnknownNamespace(Rule):
    """An object or release names a namespace that is not declared.

    ## What it does
    Reports a `metadata.namespace`, a helmfile release `namespace` or a NetworkPolicy namespace
    selector that no `Namespace` object of the validated directory declares.

    ## Why is this bad?
    Applying into an undeclared namespace fails, or creates resources in a namespace without the
    directory's network policies and quotas.

    ## Example
    ```yaml
    metadata:
      name: langfuse-web
      namespace: langfuse-prod
    ```

    ## Use instead
    Declare the namespace in `namespaces.yaml`, or use the declared one.

    ## Fix safety
    No automatic fix: `somatrace deploy validate` reports; the deployment's owner decides.
    Suppress one finding with `# noqa: DV302` on its line.
    """

    CODE = DEPLOY_UNKNOWN_NAMESPACE
    NAME = "unknown-namespace"
    FIX = FixAvailability.NONE
