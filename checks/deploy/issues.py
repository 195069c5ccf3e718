"""What deploy validation reports: a located, coded message."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Codes of the deploy validator. Policy findings reuse the rule catalogue's ST codes.
YAML_ERROR = "DV001"
K8S_SCHEMA = "DV101"
CRD_SCHEMA = "DV102"
NO_SCHEMA = "DV103"
WORKLOAD_SEMANTICS = "DV104"
VALUES_SCHEMA = "DV201"
INLINE_SECRET = "DV202"
HELMFILE_SCHEMA = "DV203"
VALUES_FILE = "DV204"
MISSING_SECRET = "DV301"
UNKNOWN_NAMESPACE = "DV302"
MISSING_REFERENCE = "DV303"


@dataclass(frozen=True, slots=True, order=True)
class DeployIssue:
    """One problem in a deployment directory; ``line``/``col`` are 1-based."""

    path: str
    line: int
    col: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def display_path(path: Path) -> str:
    """``path`` as a user should see it: relative to the working directory when inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix() if os.path.isabs(path) else path.as_posix()
