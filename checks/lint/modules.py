"""Module names and import resolution for the project-level pass.

LibCST's ``QualifiedNameProvider`` leaves relative imports relative (LibCST #460), so the
project resolves them here, from the file's place among its packages.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=8192)
def _packages(directory: str) -> tuple[tuple[str, ...], Path]:
    """The names of the packages ``directory`` is in, outermost first (itself last, when it
    holds an ``__init__.py``), and the folder the outermost one is in. Once per folder: the
    files of a folder share it, and a folder's answer extends its parent's."""
    if not os.path.isfile(os.path.join(directory, "__init__.py")):
        return (), Path(directory)
    parent = os.path.dirname(directory)
    if parent == directory:  # a package at the root of the file system
        return (os.path.basename(directory),), Path(directory)
    names, root = _packages(parent)
    return (*names, os.path.basename(directory)), root


def forget_packages() -> None:
    """Forget which folders are packages: a run starts with this, so a long-lived process (the
    editor server) sees an ``__init__.py`` added or removed since its last run."""
    _packages.cache_clear()


def module_identity(path: Path | str) -> tuple[str | None, Path]:
    """``(dotted module name, folder it is relative to)`` for a Python file.

    ``services/chat/app/main.py`` with ``app/__init__.py`` is ``app.main`` relative to
    ``services/chat``; a file outside any package is a top-level module in its own folder.
    """
    path = os.fspath(path)
    if not path.endswith(".py"):
        return None, Path(os.path.dirname(path))
    name = os.path.basename(path)
    names, root = _packages(os.path.dirname(path))
    parts = names if name == "__init__.py" else (*names, name[:-3])
    if not all(p.isidentifier() for p in parts):
        return None, root
    return (".".join(parts) or None), root


def resolve_relative(name: str, module_name: str | None, is_package: bool) -> str | None:
    """``.obs.setup`` imported from ``app.main`` -> ``app.obs.setup``."""
    if not name.startswith("."):
        return name
    level = len(name) - len(name.lstrip("."))
    rest = name[level:]
    if module_name is None:
        return None
    package = module_name.split(".") if is_package else module_name.split(".")[:-1]
    if level - 1 > len(package):
        return None
    base = package[: len(package) - (level - 1)]
    parts = [*base, *([rest] if rest else [])]
    return ".".join(parts) or None


def search_roots(package_root: Path, stop_at: Path) -> list[Path]:
    """Where an absolute import from a file may be found: its own root, then each ancestor up to
    the project root (a monorepo's shared packages), each with a ``src/`` layout variant."""
    roots: list[Path] = []
    current = package_root
    while True:
        roots.append(current)
        if (current / "src").is_dir():
            roots.append(current / "src")
        if current == stop_at or current.parent == current or stop_at not in current.parents:
            break
        current = current.parent
    return roots


def module_files(dotted: str, roots: list[Path]) -> list[Path]:
    """Files executed by ``import dotted`` (package ``__init__`` files included), from the first
    root that holds the module; empty when it is not a project module."""
    parts = dotted.split(".")
    for root in roots:
        found: list[Path] = []
        directory = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            package_init = directory / part / "__init__.py"
            module_file = directory / f"{part}.py"
            if package_init.is_file():
                found.append(package_init)
                directory = directory / part
            elif last and module_file.is_file():
                found.append(module_file)
            else:
                break
        else:
            return found
        # a partial match (package found, leaf missing) still executes the packages
        if found and len(found) == len(parts) - 1:
            return found
    return []
