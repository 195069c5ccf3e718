"""Config-file scanners: where do environment variables get set, and exactly where in the text?

Formats: ``.env*`` files, Dockerfiles (``ENV``, both syntaxes), and YAML — Kubernetes manifests,
Helm values, docker-compose files, GitHub workflows (PyYAML node marks), with a careful line
scan for Helm templates and invalid YAML. A file is scanned once per check run; every rule
reading it shares the result through ``FileContext.memo``.

What the variables *mean* for the tracing policy is decided by
:mod:`somatrace.checks.policy.environ` (see :mod:`somatrace.checks.config_files.evaluate`),
never here.
"""

from __future__ import annotations

from typing import Any

from somatrace.checks.config_files.detect import FILE_PATTERNS, detect_format, refine_yaml
from somatrace.checks.config_files.dockerfile import scan_dockerfile
from somatrace.checks.config_files.dotenv import scan_dotenv
from somatrace.checks.config_files.line_scan import scan_lines
from somatrace.checks.config_files.model import (
    ConfigFormat,
    ConfigScan,
    EnvGroup,
    LocatedVar,
    ScanProblem,
    Span,
    TextIndex,
)

__all__ = [
    "FILE_PATTERNS",
    "ConfigFormat",
    "ConfigScan",
    "EnvGroup",
    "LocatedVar",
    "ScanProblem",
    "Span",
    "TextIndex",
    "detect_format",
    "scan_config",
    "scan_text",
]

MEMO_KEY = "somatrace.checks.config_files"


def scan_text(text: str, relpath: str) -> ConfigScan | None:
    """Scan one config file's text; ``None`` when its name is no config format we read."""
    fmt = detect_format(relpath)
    if fmt is None:
        return None
    if fmt is ConfigFormat.DOTENV:
        return ConfigScan(fmt, scan_dotenv(text))
    if fmt is ConfigFormat.DOCKERFILE:
        return ConfigScan(fmt, scan_dockerfile(text))
    fmt = refine_yaml(fmt, text)
    # PyYAML is imported only when a YAML file is scanned: most runs check Python alone.
    from somatrace.checks.config_files.yaml_scan import YamlEnvScanner

    scanner = YamlEnvScanner(text)
    problem = scanner.scan()
    if problem is None:
        return ConfigScan(fmt, tuple(scanner.groups), tuple(scanner.headers))
    # Not YAML (yet): a Helm template is expected to be so; anything else is reported.
    problems = () if fmt is ConfigFormat.HELM_TEMPLATE else (problem,)
    return ConfigScan(fmt, scan_lines(text), (), problems, line_scanned=True)


def scan_config(text: str, relpath: str, memo: dict[str, Any] | None = None) -> ConfigScan | None:
    """:func:`scan_text`, once per file: the result is kept in ``memo`` (``FileContext.memo``)."""
    if memo is None:
        return scan_text(text, relpath)
    if MEMO_KEY not in memo:
        memo[MEMO_KEY] = scan_text(text, relpath)
    return memo[MEMO_KEY]
