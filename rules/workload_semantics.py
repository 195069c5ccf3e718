"""DV104 workload-semantics: reported by ``somatrace deploy validate``."""

from __future__ import annotations

from somatrace.checks.lint.codes import DEPLOY_WORKLOAD_SEMANTICS
from somatrace.checks.lint.rule import FixAvailability, Rule


class WorkloadSemantics(Rule):
    """A workload is schema-valid but cannot work as written.

    ## What it does
    Checks what the schema cannot: a CronJob `schedule` that is not a valid cron expression, an
    unknown `timeZone`, a Job whose pod `restartPolicy` is not `OnFailure` or `Never`.

    ## Why is this bad?
    The API server accepts these and the controller then never runs the job (the nightly
    evaluation silently stops), or runs it at a time nobody intended.

    ## Example
    ```yaml
    spec:
      schedule: "@nightly"
    ```

    ## Use instead
    ```yaml
    spec:
      schedule: "0 2 * * *"
      timeZone: Etc/UTC
    ```

    ## Fix safety
    No automatic fix: `somatrace deploy validate` reports; the deployment's owner decides.
    Suppress one finding with `# noqa: DV104` on its line.
    """

    CODE = DEPLOY_WORKLOAD_SEMANTICS
    NAME = "workload-semantics"
    FIX = FixAvailability.NONE
