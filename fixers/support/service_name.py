"""The service name a fix writes into ``init_tracing("<service>")``.

In order, the first that gives a name:

1. config: ``service-name = { "services/billing/**" = "billing-api" }`` in ``[tool.somatrace]``
   (globs on the path relative to the config root; the first matching glob wins);
2. the path: ``.../services/<name>/...`` (the folder after the last ``services`` folder);
3. the nearest ``pyproject.toml`` (up to the config root) with ``[project] name`` (or
   ``[tool.poetry] name``);
4. the package folder: the top-level package the file belongs to, or - when that is a generic
   name like ``app`` or ``src`` - the folder holding it; for a loose script, its folder.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from somatrace.checks.lint.config import Config
from somatrace.checks.lint.globs import matches_any
from somatrace.checks.lint.modules import module_identity
from somatrace.fixers.support.base import ServiceName

GENERIC_FOLDERS = frozenset(
    {"app", "src", "api", "server", "service", "backend", "main", "lib", "code", "python"}
)


def _from_config(relpath: str, config: Config) -> str | None:
    table: dict[str, str] = config.get("service-name")
    for glob, name in table.items():
        if matches_any((glob,), relpath):
            return name
    return None


def _from_path(parts: list[str]) -> str | None:
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "services" and i + 1 < len(parts) - 1:
            return parts[i + 1]
    return None


def _project_name(pyproject: Path) -> str | None:
    try:
        with pyproject.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    name = data.get("project", {}).get("name")
    if not isinstance(name, str):
        name = data.get("tool", {}).get("poetry", {}).get("name")
    return name.strip() if isinstance(name, str) and name.strip() else None


def _from_pyproject(path: Path, root: Path) -> str | None:
    directory = path.parent
    while True:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            name = _project_name(candidate)
            if name:
                return name
        if directory == root or directory.parent == directory or root not in directory.parents:
            return None
        directory = directory.parent


def _from_folder(path: Path) -> str:
    module_name, package_root = module_identity(path)
    if (module_name and "." in module_name) or (module_name and path.name == "__init__.py"):
        top = module_name.split(".")[0]
        if top not in GENERIC_FOLDERS:
            return top
        return package_root.name or top
    folder = path.parent.name
    if folder in GENERIC_FOLDERS and path.parent.parent.name:
        return path.parent.parent.name
    return folder or path.stem


def resolve_service_name(path: Path, relpath: str, config: Config) -> ServiceName:
    name = _from_config(relpath, config)
    if name:
        return ServiceName(name, "config")
    absolute = Path(os.path.abspath(path))
    name = _from_path(relpath.split("/")) or _from_path(list(absolute.parts))
    if name:
        return ServiceName(name, "path")
    name = _from_pyproject(absolute, config.root)
    if name:
        return ServiceName(name, "pyproject")
    return ServiceName(_from_folder(absolute), "folder")
