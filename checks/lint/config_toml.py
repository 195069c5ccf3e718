"""Reading ``[tool.somatrace]`` from files: templated ``pyproject.toml``, ``extend`` chains.

- A ``pyproject.toml`` that is not valid TOML and holds no ``[tool.somatrace`` table is not
  a configuration of ours (a cookiecutter or Jinja template, say): it is skipped, with a note
  for ``--verbose``. One that does hold such a table is an error naming file, line and column.
- ``extend = "<path>"`` (relative to the file's folder) inherits every setting of that file's
  ``[tool.somatrace]`` (itself possibly extending another); this file's own keys replace the
  inherited ones, and ``extend-exclude``/``extend-select``/``extend-ignore``/
  ``extend-per-file-ignores`` add to them along the whole chain, as in Ruff. Inherited path
  patterns keep meaning what they meant in the file that wrote them
  (:mod:`.config_rebase`). A cycle is an error, and so is an ``extend`` that leaves the
  repository the file is in (an untrusted checkout must not make the gate read, and echo in
  error messages, files elsewhere on the machine).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from somatrace.checks.lint.boundary import inside
from somatrace.checks.lint.config import (
    EXTEND,
    EXTENDING,
    Config,
    RunLog,
    has_repository,
    parse_table,
)
from somatrace.checks.lint.config_rebase import (
    rebase_list,
    rebase_table,
    relative_parts,
)
from somatrace.checks.lint.errors import ConfigError

_MARKER = re.compile(rb"\[\s*tool\s*\.\s*somatrace\b|^\s*somatrace\s*=", re.MULTILINE)
_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
MAX_CHAIN = 16


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _decode_error(path: Path, exc: tomllib.TOMLDecodeError, data: bytes) -> ConfigError:
    message = str(exc)
    where = _AT.search(message)
    if where:
        reason = message[: where.start()].strip()
        return ConfigError(f"{path}:{where.group(1)}:{where.group(2)}: invalid TOML: {reason}")
    if message.endswith("(at end of document)"):
        reason = message[: -len("(at end of document)")].strip()
        line = data.count(b"\n") + 1
        col = len(data.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")) + 1
        return ConfigError(f"{path}:{line}:{col}: invalid TOML: {reason} (at end of file)")
    return ConfigError(f"{path}: invalid TOML: {message}")


def _parse_toml(path: Path, data: bytes) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise _decode_error(path, exc, data) from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to read") from None


def read_pyproject_table(path: Path, log: RunLog) -> dict[str, Any] | None:
    """The ``[tool.somatrace]`` table of a ``pyproject.toml``; ``None`` when it has none or is
    a template that is no config of ours."""
    data = _read(path)
    try:
        parsed = _parse_toml(path, data)
    except ConfigError:
        if _MARKER.search(data) is None:
            log.note(f"skipped {path}: not valid TOML and no [tool.somatrace] table (a template?)")
            return None
        raise
    tool = parsed.get("tool", {})
    if not isinstance(tool, dict) or "somatrace" not in tool:
        return None
    table = tool["somatrace"]
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.somatrace] must be a table")
    return table


def _read_any_table(path: Path, log: RunLog, *, required: bool = True) -> dict[str, Any]:
    """A ``pyproject.toml``'s table, or a ``somatrace.toml``'s top level (or its
    ``[tool.somatrace]``); a file named by ``--config`` or ``extend`` must be readable TOML."""
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    if path.name == "pyproject.toml":
        table = read_pyproject_table(path, RunLog())
        if table is None and required:
            raise ConfigError(f"{path}: no [tool.somatrace] table")
        return table or {}
    data = _parse_toml(path, _read(path))
    tool = data.get("tool")
    if isinstance(tool, dict) and isinstance(tool.get("somatrace"), dict):
        return tool["somatrace"]
    return data


@dataclass
class _Layer:
    """One file's settings, before ``extend-*`` are folded in."""

    root: Path  # where its patterns are relative to
    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    chain: list[Path] = field(default_factory=list)


def _repository_of(path: Path) -> Path | None:
    return next((p for p in path.parents if has_repository(p)), None)


def _rebased(key: str, value: Any, rel: tuple[str, ...] | None) -> Any:
    target = EXTENDING.get(key, key)
    if target in ("entrypoints", "exclude"):
        return rebase_list(value, rel)
    if target == "per-file-ignores":
        return rebase_table(value, rel)
    if target == "service-name":
        return {new: name for glob, name in value.items() for new in rebase_list([glob], rel)}
    return value


def _layer(path: Path, table: dict[str, Any], root: Path, seen: tuple[Path, ...]) -> _Layer:
    absolute = Path(os.path.abspath(path))
    values = parse_table(table, path)
    layer = _Layer(root=root, chain=[absolute])
    extend = values.pop(EXTEND, None)
    if extend is not None:
        base_path = Path(os.path.abspath(absolute.parent / extend))
        repository = _repository_of(absolute)
        if repository is not None and not inside(base_path, repository):
            raise ConfigError(
                f"{path}: `extend` points outside the repository ({base_path}); "
                f"only configs inside {repository} are read"
            )
        if base_path in seen or base_path == absolute:
            raise ConfigError(f"{path}: `extend` makes a cycle through {base_path}")
        if len(seen) >= MAX_CHAIN:
            raise ConfigError(f"{path}: `extend` chain longer than {MAX_CHAIN} files")
        base = _layer(
            base_path, _read_any_table(base_path, RunLog()), base_path.parent, (*seen, absolute)
        )
        rel = relative_parts(root, base.root)
        for key, value in base.values.items():
            layer.values[key] = _rebased(key, value, rel)
            layer.origins[key] = base.origins[key]
        layer.chain.extend(base.chain)
    for key, value in values.items():
        if key in EXTENDING and key in layer.values:
            inherited = layer.values[key]
            if isinstance(value, dict):
                merged = {g: list(c) for g, c in inherited.items()}
                for glob, codes in value.items():
                    merged.setdefault(glob, []).extend(c for c in codes if c not in merged[glob])
                layer.values[key] = merged
            else:
                layer.values[key] = [*inherited, *(v for v in value if v not in inherited)]
            layer.origins[key] = f"{layer.origins[key]} + {absolute}"
        else:
            layer.values[key] = value
            layer.origins[key] = str(absolute)
    return layer


def _finish(layer: _Layer, source: Path) -> Config:
    values = dict(layer.values)
    origins = dict(layer.origins)
    for extra, target in EXTENDING.items():
        if extra not in values:
            continue
        added = values.pop(extra)
        how = origins.pop(extra)
        base = values.get(target, Config(layer.root).get(target))
        if isinstance(added, dict):
            merged = {g: list(c) for g, c in base.items()}
            for glob, codes in added.items():
                merged.setdefault(glob, []).extend(c for c in codes if c not in merged[glob])
            values[target] = merged
        else:
            values[target] = [*base, *(v for v in added if v not in base)]
        origins[target] = f"{origins.get(target, 'default')} + {how} ({extra})"
    return Config(
        root=layer.root,
        source=Path(os.path.abspath(source)),
        values=values,
        origins=origins,
        chain=tuple(layer.chain),
    )


def load_pyproject(path: Path, log: RunLog) -> Config | None:
    """The config a ``pyproject.toml`` declares for its folder, or ``None`` if it has none."""
    table = read_pyproject_table(path, log)
    if table is None:
        return None
    absolute = Path(os.path.abspath(path))
    return _finish(_layer(absolute, table, absolute.parent, ()), absolute)


def load_explicit(path: Path, root: Path, log: RunLog) -> Config:
    """``--config FILE``: patterns relative to ``root`` (the project root, the working
    directory), the ones it inherits through ``extend`` relative to their own files."""
    table = _read_any_table(path, log, required=False)
    return _finish(_layer(path, table, root, ()), path)
