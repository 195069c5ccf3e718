"""The codes deploy validation reports (as :class:`~somatrace.checks.lint.findings.Finding` s,
like every other command), and how it shows a path."""

from __future__ import annotations

import os
from pathlib import Path

from somatrace.checks.lint import codes

# The deploy validator's codes, under the short names its modules use (defined in codes.py).
YAML_ERROR = codes.DEPLOY_YAML_ERROR
K8S_SCHEMA = codes.DEPLOY_K8S_SCHEMA
CRD_SCHEMA = codes.DEPLOY_CRD_SCHEMA
NO_SCHEMA = codes.DEPLOY_NO_SCHEMA
WORKLOAD_SEMANTICS = codes.DEPLOY_WORKLOAD_SEMANTICS
VALUES_SCHEMA = codes.DEPLOY_VALUES_SCHEMA
INLINE_SECRET = codes.DEPLOY_INLINE_SECRET
HELMFILE_SCHEMA = codes.DEPLOY_HELMFILE_SCHEMA
VALUES_FILE = codes.DEPLOY_VALUES_FILE
MISSING_SECRET = codes.DEPLOY_MISSING_SECRET
UNKNOWN_NAMESPACE = codes.DEPLOY_UNKNOWN_NAMESPACE
MISSING_REFERENCE = codes.DEPLOY_MISSING_REFERENCE


def display_path(path: Path) -> str:
    """``path`` as a user should see it: relative to the working directory when inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix() if os.path.isabs(path) else path.as_posix()
