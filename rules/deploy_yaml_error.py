"""DV001 deploy-yaml-error: reported by ``somatrace deploy validate``."""

from __future__ import annotations

from somatrace.checks.lint.codes import DEPLOY_YAML_ERROR
from somatrace.checks.lint.rule import FixAvailability, Rule


class DeployYamlError(Rule):
    """A deployment file is not valid YAML.

    ## What it does
    Reports a YAML file under the validated directory that does not parse (syntax errors,
    duplicate keys, tabs used for indentation), at the line and column the parser names.

    ## Why is this bad?
    A file that cannot be parsed is not applied: `kubectl` or `helmfile` fails at deploy time,
    or, worse, a templating step skips it and part of the deployment silently goes missing.

    ## Example
    ```yaml
    metadata:
      name: langfuse
       namespace: langfuse
    ```

    ## Use instead
    ```yaml
    metadata:
      name: langfuse
      namespace: langfuse
    ```

    ## Fix safety
    No automatic fix: `somatrace deploy validate` reports; the deployment's owner decides.
    Suppress one finding with `# noqa: DV001` on its line.
    """

    CODE = DEPLOY_YAML_ERROR
    NAME = "deploy-yaml-error"
    FIX = FixAvailability.NONE
