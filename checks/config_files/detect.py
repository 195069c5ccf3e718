"""Which kind of config file is this? Decided from the file name first, then its content."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from somatrace.checks.config_files.model import ConfigFormat

# Globs (see somatrace.checks.lint.globs) of every file the config scanners read. A bare name
# matches at any depth.
FILE_PATTERNS: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.env",
    "Dockerfile",
    "Dockerfile.*",
    "*.Dockerfile",
    "*.dockerfile",
    "Containerfile",
    "*.yaml",
    "*.yml",
    "*.yaml.gotmpl",
    "*.yml.gotmpl",
    "*.tpl",
)

_COMPOSE_NAME = re.compile(r"^(?:docker-)?compose(?:[.-][\w.-]+)?\.ya?ml$", re.IGNORECASE)
_VALUES_NAME = re.compile(r"^values(?:[.-][\w.-]+)?\.ya?ml$", re.IGNORECASE)
_DOCKERFILE_NAME = re.compile(
    r"^(?:(?:Dockerfile|Containerfile)(?:\.[\w.-]+)?|[\w.-]+\.[Dd]ockerfile)$"
)
_DOTENV_NAME = re.compile(r"^(?:\.env(?:\.[\w.-]+)?|[\w.-]+\.env)$")
_K8S = re.compile(r"^apiVersion\s*:", re.MULTILINE)
_K8S_KIND = re.compile(r"^kind\s*:", re.MULTILINE)
_TEMPLATE = re.compile(r"\{\{-?\s|\{\{\s*[.$]|\{\{-?\s*(?:if|range|with|end|include|define)")


def is_helm_template(text: str) -> bool:
    return _TEMPLATE.search(text) is not None


def detect_format(relpath: str) -> ConfigFormat | None:
    """The format a file name promises, or ``None`` for files no config scanner reads.

    YAML files come back as :attr:`ConfigFormat.YAML` unless their name or place says more;
    :func:`refine_yaml` looks at the content.
    """
    path = PurePosixPath(relpath)
    name = path.name
    if _DOTENV_NAME.match(name):
        return ConfigFormat.DOTENV
    if _DOCKERFILE_NAME.match(name):
        return ConfigFormat.DOCKERFILE
    lowered = name.lower()
    if lowered.endswith((".yaml.gotmpl", ".yml.gotmpl", ".tpl")):
        return ConfigFormat.HELM_TEMPLATE  # helmfile / Helm templates: YAML after rendering
    if not lowered.endswith((".yaml", ".yml")):
        return None
    parts = path.parts
    if len(parts) >= 3 and parts[-3] == ".github" and parts[-2] == "workflows":
        return ConfigFormat.WORKFLOW
    if _COMPOSE_NAME.match(name):
        return ConfigFormat.COMPOSE
    if "templates" in parts[:-1]:
        return ConfigFormat.HELM_TEMPLATE
    if _VALUES_NAME.match(name):
        return ConfigFormat.HELM_VALUES
    return ConfigFormat.YAML


def refine_yaml(fmt: ConfigFormat, text: str) -> ConfigFormat:
    if fmt is ConfigFormat.YAML and is_helm_template(text):
        return ConfigFormat.HELM_TEMPLATE
    if fmt is ConfigFormat.YAML and _K8S.search(text) and _K8S_KIND.search(text):
        return ConfigFormat.KUBERNETES
    return fmt
