"""``[tool.somatrace]`` configuration: the options, their validation and defaults, and the
resolver that finds the config governing a path.

Every option is declared once in :data:`OPTIONS` with its type and default; unknown keys and
wrong types are errors that name the key and the file (exit code 2). Parts of the tool that need
an option add it here, so ``somatrace check`` validates all of them in one place. Reading files
(templated ``pyproject.toml``, ``extend`` chains) lives in :mod:`.config_toml`.

Which config governs a path: the nearest ancestor ``pyproject.toml`` with ``[tool.somatrace]``,
searched up to the repository root (the folder holding ``.git``) and no further: a config in a
parent folder outside the repository never applies. A nested config inherits nothing unless it
says ``extend = "../../pyproject.toml"``; ``--config FILE`` replaces the search and its patterns
are relative to the project root (the working directory), like Ruff's.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from somatrace.checks.lint.bounds import DEFAULT_MAX_FILE_SIZE
from somatrace.checks.lint.codes import SELECTOR
from somatrace.checks.lint.errors import ConfigError
from somatrace.checks.lint.globs import matches_any
from somatrace.checks.lint.selectors import is_known, unknown_message
from somatrace.policy import INIT_TRACING, REQUIRED_TAGS

CODE_PREFIX = SELECTOR


def _list_of_str(key: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list):
        raise TypeError(f"`{key}` must be a list of strings, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, str):
            raise TypeError(f"`{key}` must be a list of strings, found {item!r}")
    return list(value)


def _str_or_list(key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return _list_of_str(key, value)


def _codes(key: str, value: Any) -> list[str]:
    codes = _list_of_str(key, value)
    for code in codes:
        if not CODE_PREFIX.match(code) or not is_known(code):
            raise TypeError(f"`{key}`: {unknown_message(code)}")
    return codes


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"`{key}` must be true or false, got {value!r}")
    return value


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"`{key}` must be a number, got {value!r}")
    return float(value)


def _positive_number(key: str, value: Any) -> float:
    number = _number(key, value)
    if number <= 0:
        raise TypeError(f"`{key}` must be a positive number, got {value!r}")
    return number


def _ratio(key: str, value: Any) -> float:
    number = _number(key, value)
    if not 0.0 <= number <= 1.0:
        raise TypeError(f"`{key}` must be between 0 and 1, got {value!r}")
    return number


def _int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"`{key}` must be a non-negative integer, got {value!r}")
    return value


def _glob_to_codes(key: str, value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise TypeError(f"`{key}` must be a table of glob = [codes], got {type(value).__name__}")
    return {str(glob): _codes(f"{key}.{glob}", codes) for glob, codes in value.items()}


def _glob_to_str(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise TypeError(f'`{key}` must be a table of glob = "name", got {type(value).__name__}')
    out: dict[str, str] = {}
    for glob, name in value.items():
        if not isinstance(name, str):
            raise TypeError(f"`{key}.{glob}` must be a string, got {name!r}")
        out[str(glob)] = name
    return out


@dataclass(frozen=True, slots=True)
class Option:
    parse: Callable[[str, Any], Any]
    default: Any
    help: str


OPTIONS: dict[str, Option] = {
    "entrypoints": Option(
        _list_of_str, ["services/*/app/main.py"], "globs of files that are service entrypoints"
    ),
    "auto-detect-entrypoints": Option(
        _bool,
        True,
        "also treat detected ASGI/WSGI apps, server starts and Celery apps as entrypoints",
    ),
    "init-function": Option(
        _str_or_list,
        [INIT_TRACING],
        "qualified name(s) of the tracing initialiser every entrypoint must call",
    ),
    "required-tags": Option(_list_of_str, list(REQUIRED_TAGS), "tags every span must carry"),
    "select": Option(_codes, ["ST"], "rule codes or prefixes to enable"),
    "ignore": Option(_codes, [], "rule codes or prefixes to disable"),
    "exclude": Option(_list_of_str, [], "globs of paths never checked"),
    "per-file-ignores": Option(_glob_to_codes, {}, "glob = [codes] ignored in matching files"),
    "respect-gitignore": Option(
        _bool, True, "outside a git work tree too, skip what .gitignore files ignore"
    ),
    "report-unused-noqa": Option(
        _bool, False, "report `# noqa` directives that suppress nothing or name unknown codes"
    ),
    "report-unprovable-tags": Option(
        _bool, True, "ST301: also report spans whose attributes cannot be proven to carry the tags"
    ),
    "service-name": Option(
        _glob_to_str, {}, 'glob = "name": the service name the ST101 fix writes for entrypoints'
    ),
    "max-file-size": Option(
        _int,
        DEFAULT_MAX_FILE_SIZE,
        "bytes; larger files (Python, YAML, TOML, .env, Dockerfile, JSON) are reported as ST900 "
        "instead of read",
    ),
    "timeout-per-file": Option(
        _positive_number,
        60.0,
        "seconds one file may take to analyse; a file that takes longer is reported as ST900",
    ),
    # ST202 / ST203 / ST402 (config and security rules)
    "content-switches": Option(
        _list_of_str,
        [],
        "ST202: further env var names that switch prompt/completion capture on when truthy",
    ),
    "pii-words": Option(
        _list_of_str,
        [],
        "ST203: words or phrases that mark a span attribute key as personal/secret data "
        "(replaces the built-in list when set)",
    ),
    "min-sampling-rate": Option(
        _ratio, 1.0, "ST402: the lowest trace sampling rate policy allows (0 to 1)"
    ),
}

# Keys that add to an option instead of replacing it (Ruff's ``extend-*``), and ``extend``.
EXTENDING: dict[str, str] = {
    "extend-exclude": "exclude",
    "extend-select": "select",
    "extend-ignore": "ignore",
    "extend-per-file-ignores": "per-file-ignores",
}
EXTEND = "extend"
# Tables of [tool.somatrace] that other somatrace commands own and validate themselves.
FOREIGN_TABLES: dict[str, str] = {"eval": "`somatrace eval` (docs/eval.md)"}
# Options whose values are path patterns (keys of a table, or list items).
PATTERN_OPTIONS = ("entrypoints", "exclude", "per-file-ignores", "service-name")

DEFAULT = "default"


@dataclass(frozen=True)
class Config:
    """The resolved settings that apply to the files under ``root``.

    ``origins`` says where each value that is not a default came from (a file, a chain of
    files for ``extend`` and ``extend-*``, or the command line); ``chain`` lists the files this
    config was read from, the governing one first.
    """

    root: Path
    source: Path | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict, compare=False)
    chain: tuple[Path, ...] = field(default=(), compare=False)

    def get(self, key: str) -> Any:
        if key in self.values:
            return self.values[key]
        return OPTIONS[key].default

    def origin(self, key: str) -> str:
        return self.origins.get(key, DEFAULT)

    @property
    def entrypoints(self) -> list[str]:
        return self.get("entrypoints")

    @property
    def auto_detect_entrypoints(self) -> bool:
        return self.get("auto-detect-entrypoints")

    @property
    def init_functions(self) -> list[str]:
        return self.get("init-function")

    @property
    def init_words(self) -> tuple[bytes, ...]:
        """The last name of each init function, as bytes: what a file that calls one spells
        (``from acme.obs import setup as s`` still spells ``setup``)."""
        return tuple(sorted({name.rsplit(".", 1)[-1].encode() for name in self.init_functions}))

    @property
    def checked_init_words(self) -> tuple[bytes, ...]:
        """:attr:`init_words` and the default init function's: the rules that read an init
        call's arguments (ST401's headers, ST402's sample rate) check `init_tracing` even when
        other init functions are configured."""
        default = INIT_TRACING.rsplit(".", 1)[-1].encode()
        return tuple(sorted({default, *self.init_words}))

    @property
    def required_tags(self) -> list[str]:
        return self.get("required-tags")

    @property
    def select(self) -> list[str]:
        return self.get("select")

    @property
    def ignore(self) -> list[str]:
        return self.get("ignore")

    @property
    def exclude(self) -> list[str]:
        return self.get("exclude")

    @property
    def per_file_ignores(self) -> dict[str, list[str]]:
        return self.get("per-file-ignores")

    def with_overrides(self, **values: Any) -> Config:
        merged = dict(self.values)
        merged.update(values)
        origins = dict(self.origins)
        origins.update({key: "command line" for key in values})
        return Config(
            root=self.root, source=self.source, values=merged, origins=origins, chain=self.chain
        )

    def fingerprint(self) -> str:
        """A stable hash of everything that can change what rules report."""
        payload = {k: self.get(k) for k in sorted(OPTIONS)}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def relpath(self, path: Path | str) -> str:
        text = os.path.abspath(path)
        root = self._root_text
        if text.startswith(root) and len(text) > len(root) and text[len(root)] == os.sep:
            return text[len(root) + 1 :].replace(os.sep, "/")
        if text == root:
            return "."
        return Path(text).as_posix()

    @property
    def _root_text(self) -> str:
        return str(self.root)


def parse_table(table: Mapping[str, Any], source: Path) -> dict[str, Any]:
    """Validate one ``[tool.somatrace]`` table (``extend`` and ``extend-*`` included)."""
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key in FOREIGN_TABLES:
            if not isinstance(raw, dict):
                raise ConfigError(f"{source}: [tool.somatrace] `{key}` must be a table")
            continue  # validated by its own command
        if key == EXTEND:
            if not isinstance(raw, str) or not raw:
                raise ConfigError(f"{source}: [tool.somatrace] `extend` must be a path string")
            values[key] = raw
            continue
        option = OPTIONS.get(EXTENDING.get(key, key))
        if option is None:
            known = ", ".join(sorted([*OPTIONS, *EXTENDING, EXTEND, *FOREIGN_TABLES]))
            raise ConfigError(f"{source}: unknown key `{key}` in [tool.somatrace] (known: {known})")
        try:
            values[key] = option.parse(key, raw)
        except TypeError as exc:
            raise ConfigError(f"{source}: [tool.somatrace] {exc}") from None
    return values


def has_repository(directory: Path) -> bool:
    """Whether ``directory`` is the top of a git work tree (``.git`` folder or file)."""
    return os.path.lexists(directory / ".git")


@dataclass
class RunLog:
    """What resolving configs and discovering files had to say: ``warnings`` are printed,
    ``notes`` only with ``--verbose``, ``unreadable`` folders become ST900 findings."""

    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)


class ConfigResolver:
    """The config for a path: the nearest ancestor ``pyproject.toml`` with ``[tool.somatrace]``,
    up to the repository root.

    Nested projects in a monorepo each get their own settings; results are memoised per folder.
    """

    def __init__(
        self,
        explicit: Config | None = None,
        fallback_root: Path | None = None,
        *,
        force_exclude: bool = False,
        log: RunLog | None = None,
    ) -> None:
        self.explicit = explicit
        self.fallback = Config(root=Path(os.path.abspath(fallback_root or Path.cwd())))
        self.force_exclude = force_exclude
        self.log = log if log is not None else RunLog()
        self._by_dir: dict[Path, Config] = {}
        self._by_dir_text: dict[str, Config] = {}  # the same, by folder string (no Path per file)
        self._enclosing: dict[int, tuple[Config, Config | None]] = {}

    def for_path(self, path: Path | str) -> Config:
        if self.explicit is not None:
            return self.explicit
        text = os.path.abspath(path)
        found = self._by_dir_text.get(os.path.dirname(text))
        if found is not None:  # the parent folder is resolved: what the lines below find
            return found
        start = Path(text)
        directory = start.parent if start.parent in self._by_dir else None
        if directory is None:
            directory = start if start.is_dir() else start.parent
        return self._for_dir(directory)

    def known_configs(self) -> list[Config]:
        """Every config resolved so far (the explicit one, or one per project met)."""
        if self.explicit is not None:
            return [self.explicit]
        unique = {id(c): c for c in self._by_dir.values() if c is not self.fallback}
        return sorted(unique.values(), key=lambda c: str(c.root))

    def enclosing(self, config: Config) -> Config | None:
        """The config of the project that contains ``config``'s project, if any (once per
        project: discovery asks for every file)."""
        if self.explicit is not None or config.source is None:
            return None
        known = self._enclosing.get(id(config))
        if known is not None and known[0] is config:
            return known[1]
        outer = self._find_enclosing(config)
        self._enclosing[id(config)] = (config, outer)
        return outer

    def _find_enclosing(self, config: Config) -> Config | None:
        if has_repository(config.root):
            return None
        parent = config.root.parent
        if parent == config.root:
            return None
        outer = self._for_dir(parent)
        return None if outer is self.fallback else outer

    def is_excluded(self, path: Path, config: Config, given: Path | None = None) -> bool:
        """Excluded by its own project, or by a project that contains it and that the user
        asked to check: checking the repository root honours its ``exclude = ["examples"]``
        for a nested project under ``examples/``; checking ``examples/demo`` itself does not."""
        if config.exclude and matches_any(tuple(config.exclude), config.relpath(path)):
            return True
        if given is None:
            return False
        current = self.enclosing(config)
        while current is not None and (current.root == given or given in current.root.parents):
            if current.exclude and matches_any(tuple(current.exclude), current.relpath(path)):
                return True
            current = self.enclosing(current)
        return False

    def _for_dir(self, directory: Path) -> Config:
        from somatrace.checks.lint.config_toml import load_pyproject  # reads files

        cached = self._by_dir.get(directory)
        if cached is not None:
            return cached
        pyproject = directory / "pyproject.toml"
        config: Config | None = None
        if os.path.isfile(pyproject):  # never raises (an unreadable folder has none)
            config = load_pyproject(pyproject, self.log)
        if config is None:
            parent = directory.parent
            stop = parent == directory or has_repository(directory)
            config = self.fallback if stop else self._for_dir(parent)
        self._by_dir[directory] = config
        self._by_dir_text[os.fspath(directory)] = config
        return config


def load_config_file(path: Path, root: Path | None = None, log: RunLog | None = None) -> Config:
    """An explicit ``--config`` file (a pyproject.toml, or a somatrace.toml with top-level
    keys). Its patterns are relative to ``root``: the project root, i.e. the working directory
    (like Ruff), not the file's folder."""
    from somatrace.checks.lint.config_toml import load_explicit

    return load_explicit(path, Path(os.path.abspath(root or Path.cwd())), log or RunLog())


def is_selected(code: str, select: list[str], ignore: list[str]) -> bool:
    """Ruff-like resolution: the most specific matching prefix wins; on a tie, ignore wins."""
    best_select = max((_specificity(p) for p in select if _covers(p, code)), default=-1)
    best_ignore = max((_specificity(p) for p in ignore if _covers(p, code)), default=-1)
    if best_select < 0:
        return False
    return best_select > best_ignore


def _covers(prefix: str, code: str) -> bool:
    return prefix == "ALL" or code.startswith(prefix)


def _specificity(prefix: str) -> int:
    return 0 if prefix == "ALL" else len(prefix)
