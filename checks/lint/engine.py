"""One ``somatrace check`` run:

discover -> stat-keyed cache -> screen (the selected rules' triggers) -> one ``ast`` parse and one
index per file -> rules -> facets -> project join (deferred findings settled against the whole
project) -> suppressions -> findings.

Cost scales with what can hold a finding: a file no selected rule can apply to is read and
screened, never parsed; a parsed file is indexed once and every rule queries that index; an
unchanged file costs one ``stat``, and an unchanged tree reuses the whole join. Files are read,
screened and parsed in worker processes on every core (:mod:`.workers`), which start on the first
files found while discovery goes on: one file that crashes or stalls the analyser becomes ST900
and every other file is still checked.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import stat as stat_module
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import RawValue
from pathlib import Path
from typing import Any

from somatrace.checks.lint.boundary import OUTSIDE_REASON, Boundary
from somatrace.checks.lint.bounds import NESTED_TOO_DEEPLY, ast_needs_refusal_scan, refusal
from somatrace.checks.lint.cache import (
    Cache,
    QuietResult,
    content_hash,
    holds,
    is_true,
    stat_key,
)
from somatrace.checks.lint.codes import PARSE_ERROR
from somatrace.checks.lint.config import (
    Config,
    ConfigResolver,
    RunLog,
    is_selected,
    load_config_file,
)
from somatrace.checks.lint.discovery import (
    Candidate,
    Listings,
    changed_files,
    git_toplevel,
    iter_candidates,
    project_files,
    sort_candidates,
)
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.gitsafe import forget_repository_config
from somatrace.checks.lint.globs import matches_any
from somatrace.checks.lint.import_scan import spells
from somatrace.checks.lint.join_lanes import LANE_THRESHOLD, units_of_work
from somatrace.checks.lint.known import ApiTable
from somatrace.checks.lint.module import Module
from somatrace.checks.lint.modules import forget_packages, module_identity
from somatrace.checks.lint.project import (
    DEPENDENCIES_HINT,
    ImportScans,
    Missing,
    ModuleFacts,
    ModuleIndex,
    ProjectModel,
    search_roots,
)
from somatrace.checks.lint.provenance import VALUES_FACET, values_facet
from somatrace.checks.lint.rule import IMPORT_SCAN_MEMO, FileContext, PythonRule, Rule, TextRule
from somatrace.checks.lint.screen_words import VOCABULARY, harvest
from somatrace.checks.lint.source import Source, Unreadable, decode, read_bytes, too_large
from somatrace.checks.lint.suppression import NoqaMap, read_noqa
from somatrace.checks.lint.workers import Limits, WorkerPool, default_workers, paused_collector

# A result's key for the unknown codes its file's noqa directives name, (line, column,
# code): present wherever the worker read the directives (every file with a finding or a
# question for the join), so the report's audit does not read those files again.
NOQA_UNKNOWN = "noqa_unknown"

# Below this many files to read, forking a second worker costs more than it saves.
PARALLEL_THRESHOLD = 48
# Discovery looks at the workers' answers (and hands out chunks) once per this many files found.
PUMP_EVERY = 8
# The join's name for a file's import scan when it is made for the join (cached, and computed
# by `_run_import_task`, like a facet; the file's result then holds none).
IMPORTS_FACET = "imports"
# Bytes of files in one chunk of the analysis (see workers.py). llm-stack's 6,860 files went out
# in 858 chunks of 8 files; in chunks of 256 KB they go in 304, and a cold run took 0.94x the
# wall time (farm-bench, 10 pairs; 128 KB: 0.97x, 512 KB: the same as 256 KB).
CHUNK_BYTES = 256 * 1024


@dataclass
class CheckSettings:
    select: list[str] | None = None  # replaces the config's select
    ignore: list[str] = field(default_factory=list)  # extends the config's ignore
    extend_select: list[str] = field(default_factory=list)
    config_file: Path | None = None
    use_cache: bool = True
    changed_since: str | None = None
    jobs: int | None = None
    force_exclude: bool = False  # apply `exclude` to files named on the command line too


@dataclass
class CheckResult:
    findings: list[Finding]
    files_checked: int = 0
    files_parsed: int = 0
    files_cached: int = 0
    elapsed: float = 0.0
    roots: list[Path] = field(default_factory=list)
    # Per file (its absolute path) whose noqa directives the analysis read: the unknown
    # codes of ours they name, as (line, column, code).
    noqa_unknown: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)
    # Wall-clock seconds per phase; the worker phases are summed over workers (CPU-like).
    phases: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def display_path(path: Path | str, cwd: Path) -> str:
    text = os.fspath(path)
    base = os.fspath(cwd)
    if text.startswith(base + os.sep):
        return text[len(base) + 1 :].replace(os.sep, "/")
    return Path(text).as_posix()


def effective_config(config: Config, settings: CheckSettings) -> Config:
    overrides: dict[str, Any] = {}
    if settings.select is not None:
        overrides["select"] = list(settings.select)
    if settings.extend_select:
        overrides["select"] = list(overrides.get("select", config.select)) + settings.extend_select
    if settings.ignore:
        overrides["ignore"] = list(config.ignore) + list(settings.ignore)
    return config.with_overrides(**overrides) if overrides else config


# The rules of the running check, set by the :class:`Engine` before any worker is forked (so
# workers inherit them): the engine is given its rules, it never imports the rules layer.
_RULES: dict[str, type[Rule]] = {}


@dataclass(frozen=True)
class _Task:
    """One file whose cached result could not be used."""

    path: str
    relpath: str
    config: Config
    codes: tuple[str, ...]
    known_digest: str | None  # the cached entry's content hash, if any
    hashed: bool  # whether the result needs its content hash (a cache that is written)
    init_names: tuple[bytes, ...]
    data: bytes | None = None  # a buffer to check instead of the file (stdin, an editor)


def make_context(path: str | Path, relpath: str, config: Config) -> FileContext:
    path = os.fspath(path)
    module_name, _ = module_identity(path)
    return FileContext(
        path=Path(path),
        relpath=relpath,
        module_name=module_name,
        is_package=path.endswith(os.sep + "__init__.py"),
        config=config,
        is_configured_entrypoint=matches_any(tuple(config.entrypoints), relpath),
    )


def _empty() -> dict[str, Any]:
    return {"findings": [], "deferred": [], "facets": {}, "parsed": False}


def _unreadable(problem: Unreadable, relpath: str) -> Finding:
    return Finding(
        relpath, problem.line, problem.col, PARSE_ERROR, f"cannot check this file: {problem.reason}"
    )


def _parse_error(relpath: str, line: int, col: int, reason: str) -> Finding:
    return Finding(relpath, line, col, PARSE_ERROR, f"cannot parse this file: {reason}")


def parse_source(source: Source, ctx: FileContext) -> Module | Finding:
    """CPython's parser, once: the module, or ST900 with CPython's own location and reason.

    CPython's parser keeps its own nesting bounds; only a file that could hold an f-string
    past :data:`~.bounds.MAX_FSTRING_FIELDS` fields is scanned first
    (:func:`~.bounds.ast_needs_refusal_scan`)."""
    mark = time.perf_counter()
    try:
        refused = refusal(source.text) if ast_needs_refusal_scan(source.data) else None
        if refused is not None:
            return _parse_error(ctx.relpath, 1, 1, refused)
        tree = ast.parse(source.data, filename=ctx.relpath)
    except SyntaxError as err:
        return _parse_error(ctx.relpath, err.lineno or 1, err.offset or 1, err.msg)
    except (RecursionError, MemoryError):
        return _parse_error(ctx.relpath, 1, 1, NESTED_TOO_DEEPLY)
    except ValueError as err:
        return _parse_error(ctx.relpath, 1, 1, str(err))
    finally:
        _tick("parse", mark)
    mark = time.perf_counter()
    try:
        return Module(tree, source.text, ctx.module_name, ctx.is_package, ctx.relpath)
    except RecursionError:
        return _parse_error(ctx.relpath, 1, 1, NESTED_TOO_DEEPLY)
    finally:
        _tick("model", mark)


def analyse_python(
    source: Source, ctx: FileContext, rules: Sequence[type[PythonRule]], report_errors: bool
) -> dict[str, Any]:
    parsed = parse_source(source, ctx)
    if isinstance(parsed, Finding):
        out = _empty() | {"parsed": True}
        if report_errors:
            out["findings"] = [parsed.to_dict()]
        return out
    try:
        return _run_rules(parsed, source, ctx, rules)
    finally:
        parsed.release()  # nothing asks the tree again: freed now, not by the collector


def _run_rules(
    module: Module, source: Source, ctx: FileContext, rules: Sequence[type[PythonRule]]
) -> dict[str, Any]:
    findings: list[Finding] = []
    deferred: list[list[Any]] = []
    facets: dict[str, Any] = {}
    for rule in rules:
        instance = rule(ctx)
        try:
            mark = time.perf_counter()
            instance.run(module)
            _tick("rules", mark)
            mark = time.perf_counter()
            for name, facet in rule.FACETS.items():
                if name not in facets:
                    facets[name] = facet(module, ctx)
            _tick("facets", mark)
        except RecursionError:
            return _empty() | {
                "parsed": True,
                "findings": [_parse_error(ctx.relpath, 1, 1, NESTED_TOO_DEEPLY).to_dict()],
            }
        except Exception as exc:  # a bug in a rule is reported on the file it met, loudly
            message = (
                f"cannot check this file: internal error in {rule.CODE} "
                f"({type(exc).__name__}: {exc}); please report it"
            )
            findings.append(Finding(ctx.relpath, 1, 1, PARSE_ERROR, message[:400]))
            continue
        findings.extend(instance.findings)
        deferred.extend([d.finding.to_dict(), d.query] for d in instance.deferred)
    out: dict[str, Any] = {"parsed": True}
    noqa = None
    if findings or deferred:
        noqa, out[NOQA_UNKNOWN] = read_noqa(source.text)
        findings = noqa.apply(findings)
    return out | {
        "findings": [f.to_dict() for f in findings],
        "deferred": deferred,
        "facets": facets,
        "noqa": noqa.to_json() if noqa is not None and deferred else None,
    }


def _analyse_text(
    source: Source, ctx: FileContext, rules: Sequence[type[Rule]], screened: bytes
) -> dict[str, Any]:
    findings: list[Finding] = []
    for rule in rules:
        if (
            issubclass(rule, TextRule)
            and matches_any(rule.FILE_PATTERNS, ctx.relpath)
            and rule.applies_to(screened, ctx)
        ):
            findings.extend(rule(ctx).check_text(source.text, ctx))
    out = _empty()
    if findings:
        noqa, out[NOQA_UNKNOWN] = read_noqa(source.text)
        findings = noqa.apply(findings)
    return out | {"findings": [f.to_dict() for f in findings], "parsed": bool(findings)}


# Set (in shared memory, so the workers see it) once a result that spells the init function
# comes back: the join will read every file's import scan, which the workers then make while
# they have the file's bytes instead of the engine reading the file again before the join.
_IMPORTS_WANTED: Any = None


def analyse_bytes(task: _Task, data: bytes) -> dict[str, Any]:
    rules = [_RULES[code] for code in task.codes]
    python = task.relpath.endswith(".py")
    ctx = make_context(task.path, task.relpath, task.config)
    report_errors = PARSE_ERROR in task.codes
    mark = time.perf_counter()
    # The screens' substring tests, answered from one scan of the file (.screen_words).
    screened = VOCABULARY.view(data)
    if python:
        # For the project join: whether it spells the init function (a module that neither
        # spells it nor imports one that does cannot initialise tracing), and the modules it
        # may import when a screen read them anyway or a file spelling the init function has
        # come back (the join will read them); the join has the rest scanned
        # (`Engine._prefetch_import_lists`).
        scan: dict[str, Any] = {
            "mentions_init": any(
                name in screened and spells(data, name) for name in task.init_names
            ),
        }
        applicable = [r for r in rules if issubclass(r, PythonRule) and r.applies_to(screened, ctx)]
        if IMPORT_SCAN_MEMO in ctx.memo or (_IMPORTS_WANTED is not None and _IMPORTS_WANTED.value):
            scan["imports"] = " ".join(ctx.imports(screened))  # one string, as the cache keeps it
        _tick("screen", mark)
        if not applicable:
            out = _empty()
            if report_errors and (b"\0" in data or not _decodes(task.path, data)):
                decoded = decode(Path(task.path), data, python=True)
                reason = decoded.reason if isinstance(decoded, Unreadable) else "binary file"
                problem = Unreadable(Path(task.path), reason)
                out["findings"] = [_unreadable(problem, task.relpath).to_dict()]
            return out | scan
        decoded = decode(Path(task.path), data, python=True)
        if isinstance(decoded, Unreadable):
            out = _empty()
            if report_errors:
                out["findings"] = [_unreadable(decoded, task.relpath).to_dict()]
            return out
        return analyse_python(decoded, ctx, applicable, report_errors) | scan
    decoded = decode(Path(task.path), data, python=False)
    if isinstance(decoded, Unreadable):
        out = _empty()
        if report_errors:
            out["findings"] = [_unreadable(decoded, task.relpath).to_dict()]
        return out
    return _analyse_text(decoded, ctx, rules, screened)


def _decodes(path: str, data: bytes) -> bool:
    return not isinstance(decode(Path(path), data, python=True), Unreadable)


def _run_task(task: _Task) -> dict[str, Any]:
    """Runs in a worker process: everything one file costs."""
    started = time.perf_counter()
    _TIMES.clear()
    data = _read(task.path, task.data, task.config)
    _tick("read", started)
    if isinstance(data, Unreadable):
        finding = _unreadable(data, task.relpath) if PARSE_ERROR in task.codes else None
        return {"kind": "unreadable", "finding": finding.to_dict() if finding else None}
    try:
        key = stat_key(os.stat(task.path))
    except OSError:
        key = (len(data), 0, 0)
    # `--no-cache` writes no cache: the content hash would be computed for nothing (an
    # in-memory entry without it is only ever missed, never wrongly hit).
    digest = content_hash(data) if task.hashed or task.known_digest is not None else ""
    if digest == task.known_digest:
        return {"kind": "unchanged", "stat": key, "digest": digest}
    result = analyse_bytes(task, data)
    return {
        "kind": "result",
        "result": result,
        "stat": key,
        "digest": digest,
        "seconds": time.perf_counter() - started,
        "timings": dict(_TIMES),
    }


def _read(path: str, buffer: bytes | None, config: Config) -> bytes | Unreadable:
    """The file's bytes (or the buffer standing for it), within ``max-file-size``."""
    limit = int(config.get("max-file-size"))
    if buffer is None:
        return read_bytes(path, limit)
    problem = too_large(Path(path), len(buffer), limit)
    return buffer if problem is None else problem


# Seconds this worker spent per phase on the file at hand (read, screen, parse, model, rules,
# facets): summed over files and workers into `CheckResult.phases` ("in workers" figures).
_TIMES: dict[str, float] = {}


def _tick(phase: str, since: float) -> None:
    _TIMES[phase] = _TIMES.get(phase, 0.0) + time.perf_counter() - since


@dataclass(frozen=True)
class _ImportTask:
    path: str
    relpath: str
    config: Config
    data: bytes | None = None  # a buffer to read instead of the file


def _run_import_task(task: _ImportTask) -> list[str]:
    """Runs in a worker: the modules one file may import, by the byte scan the screens use."""
    data = _read(task.path, task.data, task.config)
    if isinstance(data, Unreadable):
        return []
    return make_context(task.path, task.relpath, task.config).imports(data)


def _failed_import_task(task: _ImportTask, reason: str) -> list[str]:
    return []


_FACETS: dict[str, Any] = {}
_NOT_FETCHED = object()


@dataclass(frozen=True)
class _FacetTask:
    path: str
    relpath: str
    config: Config
    name: str
    data: bytes | None = None  # a buffer to read instead of the file


def _run_facet_task(task: _FacetTask) -> dict[str, Any]:
    """Runs in a worker: one facet of one module the project join needs."""
    data = _read(task.path, task.data, task.config)
    if isinstance(data, Unreadable):
        return {"facet": None, "stat": None}
    try:
        key = stat_key(os.stat(task.path))
    except OSError:
        key = None
    decoded = decode(Path(task.path), data, python=True)
    function = _FACETS.get(task.name)
    facet = None
    if not isinstance(decoded, Unreadable) and function is not None:
        ctx = make_context(task.path, task.relpath, task.config)
        module = parse_source(decoded, ctx)
        if not isinstance(module, Finding):
            try:
                facet = function(module, ctx)
            finally:
                module.release()
    return {"facet": facet, "stat": key, "digest": content_hash(data)}


def _failed_facet_task(task: _FacetTask, reason: str) -> dict[str, Any]:
    return {"facet": None, "stat": None}


@dataclass
class _JoinOutcome:
    """What one lane of the project join found, and what it fetched on the way."""

    findings: list[Finding]
    used: set[str]  # every file an answer rested on
    fetches: list[tuple[str, str, dict[str, Any]]]  # (path, facet name, the fetch's output)
    fetched: int
    rounds: int


def _failed_task(task: _Task, reason: str) -> dict[str, Any]:
    finding = Finding(task.relpath, 1, 1, PARSE_ERROR, f"cannot check this file: {reason}")
    return {"kind": "failed", "finding": finding.to_dict()}


class Engine:
    """``buffers`` (absolute path -> bytes) are checked instead of what is on disk at those
    paths, which need not exist: ``check - --stdin-filename``, an editor's unsaved files. They
    are never cached, and every other module is read from disk as usual."""

    def __init__(
        self,
        settings: CheckSettings,
        rules: Iterable[type[Rule]],
        cwd: Path | None = None,
        buffers: Mapping[Path, bytes] | None = None,
        caches: dict[Path, Cache] | None = None,
    ) -> None:
        """``caches`` (config root -> loaded cache) may be shared by the engines of one
        process that run one after another with the same settings and rules (a fix session's
        check, re-check and passes), so that the cache file is read once."""
        # What a long-lived process learnt in earlier runs may have changed on disk since.
        forget_packages()
        forget_repository_config()
        self.rules = tuple(rules)
        _RULES.clear()
        _RULES.update({rule.CODE: rule for rule in self.rules})
        VOCABULARY.add(harvest(self.rules))
        self.settings = settings
        self.cwd = Path(os.path.realpath(cwd or Path.cwd()))
        self.buffers = {os.path.abspath(p): bytes(d) for p, d in (buffers or {}).items()}
        self.log = RunLog()  # warnings and notes of config and discovery, for the CLI
        explicit = (
            load_config_file(settings.config_file, self.cwd, self.log)
            if settings.config_file
            else None
        )
        self.top = git_toplevel(self.cwd)
        self.resolver = ConfigResolver(
            explicit=explicit,
            fallback_root=self.top or self.cwd,
            force_exclude=settings.force_exclude,
            log=self.log,
        )
        # Reads stop at the project: a tracked symlink to a file outside it is ST900, not read.
        self.boundary = Boundary(self.top or self.cwd)
        self._caches: dict[Path, Cache] = {} if caches is None else caches
        self._effective: dict[int, Config] = {}
        self._active: dict[tuple[tuple[str, ...], tuple[str, ...]], list[type[Rule]]] = {}
        self._index: ModuleIndex | None = None
        self._listings: Listings = {}  # git's listings of this run's folders
        self._fetched: dict[tuple[str, str], Any] = {}
        self._missing: set[tuple[str, str]] = set()  # facets known to need a fetch
        self._described: dict[str, tuple[str | None, tuple[str, ...]]] = {}
        self.fetched = 0
        self._join_rounds = 0
        self._join_lanes = 0
        self._join_units = 0
        self._lane_failures = 0  # lanes whose process died and were answered in this one
        self._fetch_workers: int | None = None  # None: one per core (see _workers)
        self._results: dict[str, Mapping[str, Any]] = {}  # this run's, for the join
        self._stats: dict[str, tuple[int, int, int]] = {}  # this run's stat keys, for the join
        self._scanned_imports: dict[str, list[str]] = {}  # import scans made for the join
        self._import_scans = 0  # files the join had scanned for their imports this run
        _FACETS.clear()
        _FACETS.update(self._facets())

    # -- configuration ----------------------------------------------------------------------

    def config_for(self, config: Config) -> Config:
        key = id(config)
        if key not in self._effective:
            self._effective[key] = effective_config(config, self.settings)
        return self._effective[key]

    def active_rules(self, config: Config) -> list[type[Rule]]:
        key = (tuple(config.select), tuple(config.ignore))
        found = self._active.get(key)
        if found is None:
            found = [r for r in self.rules if is_selected(r.CODE, config.select, config.ignore)]
            self._active[key] = found
        return found

    def cache_for(self, config: Config) -> Cache:
        cache = self._caches.get(config.root)
        if cache is None:
            codes = ",".join(r.CODE for r in self.active_rules(config))
            cache = Cache.load(
                config.root, f"{config.fingerprint()}:{codes}", enabled=self.settings.use_cache
            )
            if cache.refused is not None:
                self.log.warn(cache.refused)
            self._caches[config.root] = cache
        return cache

    def text_patterns(self) -> tuple[str, ...]:
        patterns: list[str] = []
        for rule in self.rules:
            if issubclass(rule, TextRule):
                patterns.extend(rule.FILE_PATTERNS)
        return tuple(dict.fromkeys(patterns))

    # -- the run ----------------------------------------------------------------------------

    def run(self, paths: list[Path]) -> CheckResult:
        with paused_collector():
            return self._run(paths)

    def _run(self, paths: list[Path]) -> CheckResult:
        started = time.perf_counter()
        phases: dict[str, float] = {}
        virtual = frozenset(Path(p) for p in self.buffers)
        self._listings = {}  # listed afresh each run
        self._import_scans = 0
        results: dict[str, Mapping[str, Any]] = {}
        candidates: list[Candidate] = []
        tasks: list[_Task] = []
        task_candidates: list[Candidate] = []
        stats: dict[str, tuple[int, int, int]] = {}
        cache_seconds = 0.0
        budget_configs = -1
        self._cached = 0
        pool = WorkerPool(
            _run_task, _failed_task, self._workers(), Limits(), chunk_weight=CHUNK_BYTES
        )
        # The workers start on the first files found while discovery goes on (a fork costs more
        # than the second core saves below PARALLEL_THRESHOLD files); the rest goes out biggest
        # first, so that no worker is left with one large file at the end.
        wanted = _imports_wanted()

        def came_back(output: dict[str, Any]) -> None:
            if not wanted.value and output.get("kind") == "result":
                if is_true(output["result"], "mentions_init"):
                    wanted.value = 1

        with pool.stream(
            biggest_first=True, threshold=PARALLEL_THRESHOLD, on_result=came_back
        ) as stream:
            for cand in iter_candidates(
                paths, self.resolver, self.text_patterns(), virtual, self._listings
            ):
                candidates.append(cand)
                mark = time.perf_counter()
                found = self._task_for(cand, results, stats)
                cache_seconds += time.perf_counter() - mark
                if found is None:
                    hit = results.get(str(cand.path))
                    if not wanted.value and hit is not None and is_true(hit, "mentions_init"):
                        wanted.value = 1  # a cached file that spells it
                    continue
                task, size = found
                tasks.append(task)
                task_candidates.append(cand)
                if len(self._effective) != budget_configs:  # a config first met
                    budget_configs = len(self._effective)
                    pool.limits = Limits(seconds=self._file_budget())
                stream.submit(task, size)
                if len(tasks) % PUMP_EVERY == 0:
                    stream.pump()
            sort_candidates(candidates)
            phases["discover"] = time.perf_counter() - started - cache_seconds
            phases["cache"] = cache_seconds
            mark = time.perf_counter()
            pool.limits = Limits(seconds=self._file_budget())
            outputs = stream.close()
        phases["analyse"] = time.perf_counter() - mark
        cached = self._cached
        worker_seconds = 0.0
        worker_phases: dict[str, float] = {}
        findings: list[Finding] = []
        parsed = 0
        for i, output in enumerate(outputs):
            cand = task_candidates[i]
            config = self.config_for(cand.config)
            cache = self.cache_for(config)
            path = str(cand.path)
            kind = output["kind"]
            if kind in ("unreadable", "failed"):
                if output["finding"] is not None:
                    results[path] = _empty() | {"findings": [output["finding"]]}
                continue
            key = tuple(output["stat"])
            if kind == "unchanged":
                hit = cache.lookup_digest(cand.relpath, key, output["digest"])  # type: ignore[arg-type]
                if hit is not None:
                    results[path] = hit
                    cached += 1
                    continue
                # the entry vanished between lookup and now: analyse inline
                output = _run_task(
                    tasks[i].__class__(**{**tasks[i].__dict__, "known_digest": None})
                )
                key = tuple(output["stat"])
            result = output["result"]
            worker_seconds += output.get("seconds", 0.0)
            for phase, seconds in output.get("timings", {}).items():
                worker_phases[phase] = worker_phases.get(phase, 0.0) + seconds
            results[path] = result
            parsed += bool(result.get("parsed"))
            stats[path] = key  # type: ignore[assignment]
            if path not in self.buffers:
                cache.store(cand.relpath, key, output["digest"], result)  # type: ignore[arg-type]
        # In path order, whatever order discovery found the files in and the workers took them.
        results = {p: results[p] for c in candidates if (p := str(c.path)) in results}

        mark = time.perf_counter()
        by_path = {str(c.path): c for c in candidates}
        noqa_unknown: dict[str, list[tuple[int, int, str]]] = {}
        for path, result in results.items():
            raws = result.get("findings", ())
            if raws or result.get("deferred"):
                unknown = result.get(NOQA_UNKNOWN)
                if unknown is not None:
                    noqa_unknown[path] = [(line, col, code) for line, col, code in unknown]
            if not raws:
                continue
            display = display_path(by_path[path].path, self.cwd)
            for raw in raws:
                findings.append(Finding.from_dict(raw).with_path(display))
        findings.extend(self._project_pass(candidates, results, stats))
        findings.extend(self._unreadable_folders())
        phases["project"] = time.perf_counter() - mark

        findings = self._apply_per_file_ignores(findings, candidates)
        if self.settings.changed_since:
            findings = self._only_changed(findings)
        for cache in self._caches.values():
            cache.save()
        findings.sort(key=lambda f: f.sort_key)
        elapsed = time.perf_counter() - started
        phases["workers_cpu"] = worker_seconds
        phases.update({f"workers_{name}": seconds for name, seconds in worker_phases.items()})
        return CheckResult(
            findings=findings,
            files_checked=len(candidates),
            files_parsed=parsed,
            files_cached=cached,
            noqa_unknown=noqa_unknown,
            elapsed=elapsed,
            roots=sorted({c.root for c in self._effective.values()}),
            phases=phases,
            counts={
                "discovered": len(candidates),
                "analysed": len(tasks),
                "parsed": parsed,
                "cached": cached,
                "worker_failures": pool.failures,
                "analysis_chunks": pool.chunks,
                "join_fetched": self.fetched,
                "join_rounds": self._join_rounds,
                "join_lanes": self._join_lanes,
                "join_units": self._join_units,
                "join_lane_failures": self._lane_failures,
                "join_import_scans": self._import_scans,
            },
        )

    def _task_for(
        self,
        cand: Candidate,
        results: dict[str, Mapping[str, Any]],
        stats: dict[str, tuple[int, int, int]],
    ) -> tuple[_Task, int] | None:
        """The work one discovered file needs, with its size (from the stat that keys the
        cache), or None when its result is settled here: no rule applies, it lies outside its
        project (ST900), or the cache holds its result for this stat."""
        config = self.config_for(cand.config)
        rules = self.active_rules(config)
        if not rules:
            return None
        path = str(cand.path)
        buffer = self.buffers.get(path)
        if buffer is None and not self.boundary.contains(path, cand.config.root):
            if PARSE_ERROR in {r.CODE for r in rules}:
                outside = Unreadable(cand.path, OUTSIDE_REASON)
                results[path] = _empty() | {
                    "findings": [_unreadable(outside, cand.relpath).to_dict()]
                }
            return None
        cache = self.cache_for(config)
        try:
            key = stat_key(os.stat(path)) if buffer is None else None
        except OSError:
            key = None
        if key is not None:
            stats[path] = key
            hit = cache.lookup(cand.relpath, key)
            if hit is not None:
                results[path] = hit
                self._cached += 1
                return None
        entry = cache.entries.get(cand.relpath)
        size = len(buffer) if buffer is not None else key[0] if key is not None else 0
        task = _Task(
            path=path,
            relpath=cand.relpath,
            config=config,
            codes=tuple(r.CODE for r in rules),
            known_digest=entry.digest if entry is not None and buffer is None else None,
            hashed=self.settings.use_cache,
            init_names=config.init_words,
            data=buffer,
        )
        return task, size

    def _file_budget(self) -> float:
        """Seconds one file may take: the largest ``timeout-per-file`` of the run's configs."""
        return max(
            float(c.get("timeout-per-file"))
            for c in [*self._effective.values()] or [Config(self.cwd)]
        )

    # -- the project join -------------------------------------------------------------------

    def _project_pass(
        self,
        candidates: list[Candidate],
        results: dict[str, Mapping[str, Any]],
        stats: dict[str, tuple[int, int, int]],
    ) -> list[Finding]:
        pending = [(path, r) for path, r in results.items() if r.get("deferred")]
        if not pending:
            return []
        by_path = {str(c.path): c for c in candidates}
        join_cache = self._join_cache(candidates)
        join_key = self._join_key(candidates, stats)
        reused = join_cache.lookup_join(join_key) if join_cache is not None else None
        if reused is not None:
            return [Finding.from_dict(f) for f in reused]
        self._stats = stats
        model = self._model(results)
        questions = [
            (path, result, raw, query)
            for path, result in pending
            for raw, query in result["deferred"]
        ]
        self._prefetch_import_lists(model, {raw["code"] for _, _, raw, _ in questions})
        workers = self._workers()
        units = (
            units_of_work(
                [raw["code"] for _, _, raw, _ in questions],
                [self.index().identity(path)[1] for path, _, _, _ in questions],
                {code for code, rule in _RULES.items() if getattr(rule, "JOIN_AS_ONE", False)},
            )
            if workers > 1 and len(questions) >= LANE_THRESHOLD
            else [list(range(len(questions)))]
        )
        work = [[questions[number] for number in unit] for unit in units]
        self._join_units = len(work)
        self._join_lanes = max(1, min(workers, len(work)))  # in-process (--jobs 0) is one
        if len(work) > 1:
            outcomes = self._answer_in_lanes(model, work, by_path)
        else:
            outcomes = [self._answer(model, questions, by_path)]
        out = [finding for outcome in outcomes for finding in outcome.findings]
        used: set[str] = set()
        cached: set[tuple[str, str]] = set()
        for outcome in outcomes:
            used |= outcome.used
            self.fetched += outcome.fetched
            for path, name, output in outcome.fetches:
                if (path, name) not in cached:  # two lanes may have fetched it
                    cached.add((path, name))
                    self._cache_fetched(path, name, output)
        self._join_rounds = max(outcome.rounds for outcome in outcomes)
        if join_cache is not None:
            stamps = {p: stats.get(p) or _stat_or_none(p) for p in sorted(used)}
            join_cache.store_join(join_key, [f.to_dict() for f in out], stamps)
        return out

    def _answer(
        self, model: ProjectModel, questions: list[Any], by_path: dict[str, Candidate]
    ) -> _JoinOutcome:
        """Ask ``questions`` (deferred findings with their queries) in rounds, fetching the
        modules each round lacked, until every one is answered."""
        out: list[Finding] = []
        fetches: list[tuple[str, str, dict[str, Any]]] = []
        rounds = fetched = 0
        while questions:
            rounds += 1
            needed: dict[tuple[str, str], None] = {}
            unanswered = []
            for path, result, raw, query in questions:
                finding = Finding.from_dict(raw)
                rule = _RULES.get(finding.code)
                if rule is None or not issubclass(rule, PythonRule):
                    continue
                try:
                    settled = list(rule.settle(finding, query, model, model.context_for(path)))
                except Missing as missing:
                    needed.update(dict.fromkeys(missing.wanted))
                    unanswered.append((path, result, raw, query))
                    continue
                noqa = NoqaMap.from_json(result.get("noqa"))
                display = display_path(by_path[path].path, self.cwd)
                out.extend(f.with_path(display) for f in noqa.apply(settled))
            if not needed:
                break
            # Nothing derived from a missing module was remembered, so every answer so far
            # stands; the unanswered questions go on where they stopped.
            fetches.extend(self._fetch(list(needed)))
            fetched += len(needed)
            questions = unanswered
        return _JoinOutcome(out, set(model.used), fetches, fetched, rounds)

    def _answer_in_lanes(
        self, model: ProjectModel, work: list[list[Any]], by_path: dict[str, Candidate]
    ) -> list[_JoinOutcome]:
        """The units of work answered by one forked process per core (see :mod:`.join_lanes`),
        each taking the next unit when done with one and fetching what it lacks itself; a unit
        whose process fails is answered here instead."""

        def in_worker(number: int) -> _JoinOutcome:
            self._fetch_workers = 0  # this process is already one of the cores
            return self._answer(model, work[number], by_path)

        def here(number: int, reason: str) -> _JoinOutcome:
            return self._answer(model, work[number], by_path)

        pool = WorkerPool(in_worker, here, self._join_lanes, Limits(seconds=math.inf), chunk_size=1)
        outcomes = pool.map(list(range(len(work))))
        self._lane_failures = pool.failures
        return outcomes

    def _unreadable_folders(self) -> list[Finding]:
        """ST900 for each folder discovery could not read (it may hide an entrypoint)."""
        out = []
        for folder, reason in dict.fromkeys(self.log.unreadable):
            config = self.config_for(self.resolver.for_path(folder))
            if PARSE_ERROR in {r.CODE for r in self.active_rules(config)}:
                out.append(Finding(display_path(folder, self.cwd), 1, 1, PARSE_ERROR, reason))
        return out

    def _join_cache(self, candidates: list[Candidate]) -> Cache | None:
        if not self.settings.use_cache or not candidates or self.buffers:
            return None
        return self.cache_for(self.config_for(candidates[0].config))

    def _join_key(self, candidates: list[Candidate], stats: dict[str, tuple[int, int, int]]) -> str:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(os.fspath(self.cwd).encode())
        for cand in candidates:
            digest.update(f"{cand.path}\0{stats.get(str(cand.path))}\0".encode())
        return digest.hexdigest()

    def _model(self, results: dict[str, Mapping[str, Any]]) -> ProjectModel:
        api = ApiTable.merge(
            table for rule in self.rules if issubclass(rule, PythonRule) for table in rule.API
        )
        model = ProjectModel(self.index(), api, self._load_values, self._load_facet, self._describe)
        model.hints[DEPENDENCIES_HINT] = bool(self.settings.changed_since)
        spells: dict[str, bool] = {}
        for path, r in results.items():
            if path not in model.index.files:
                continue
            if holds(r, "mentions_init"):
                spells[path] = is_true(r, "mentions_init")
        model.scans = ImportScans(spells, self._import_list)
        self._results = results
        self._scanned_imports = {}
        model.read_facets = lambda name: (
            r["facets"][name]
            for r in results.values()
            if (not isinstance(r, QuietResult) or r.has_facets()) and name in r.get("facets", {})
        )
        for path, result in results.items():
            if isinstance(result, QuietResult) and not result.has_facets():
                continue
            values = result.get("facets", {}).get(VALUES_FACET)
            if values is not None:
                model.add(self._facts(path, values))
        return model

    def index(self) -> ModuleIndex:
        """Every Python file of the projects being checked (the roots of their configs)."""
        if self._index is None:
            roots = sorted({c.root for c in self._effective.values()}) or [self.top or self.cwd]
            files: set[str] = set()
            for root in roots:
                if not any(root != other and other in root.parents for other in roots):
                    files.update(
                        f
                        for f in project_files(root, self._listings)
                        if self.boundary.holds(f, root)
                    )
            self._index = ModuleIndex(files)
        return self._index

    def _import_list(self, path: str) -> list[str]:
        """The modules a file read this run may import (:mod:`.import_scan`): from its result
        when a screen scanned them, else from :meth:`_scan_imports` (run for every file at once
        before the join when it will read them), else scanned here."""
        result = self._results[path]
        if holds(result, "imports"):
            return result["imports"].split()  # type: ignore[no-any-return]
        scanned = self._scanned_imports.get(path)
        if scanned is None:
            scanned = self._scan_imports([path]).get(path, [])
        return scanned

    def _scan_imports(self, paths: list[str]) -> dict[str, list[str]]:
        """The import scans of ``paths``, on every core (at most one file's read when a file
        cannot be read: no imports), kept for the run and cached with each file's stat."""
        tasks: list[_ImportTask] = []
        out: dict[str, list[str]] = {}
        for path in paths:
            config = self.config_for(self.resolver.for_path(Path(path)))
            relpath = config.relpath(Path(path))
            key = self._stats.get(path)
            slot = facet_slot(IMPORTS_FACET, relpath)
            hit = self.cache_for(config).lookup(slot, key) if key is not None else None
            if hit is not None:
                out[path] = hit["facet"].split()
                continue
            tasks.append(_ImportTask(path, relpath, config, self.buffers.get(path)))
        workers = self._workers() if self._fetch_workers is None else self._fetch_workers
        if len(tasks) < PARALLEL_THRESHOLD:
            workers = 0  # a fork costs more than scanning a few files here
        pool = WorkerPool(_run_import_task, _failed_import_task, workers, chunk_size=64)
        for task, found in zip(tasks, pool.map(tasks), strict=True):
            out[task.path] = found
            self._cache_import_list(task, found)
        self._import_scans += len(tasks)
        self._scanned_imports.update(out)
        return out

    def _cache_import_list(self, task: _ImportTask, found: list[str]) -> None:
        key = self._stats.get(task.path)
        if key is None or task.data is not None:
            return  # a buffer's scan is never cached
        cache = self.cache_for(task.config)
        entry = cache.entries.get(task.relpath)
        if entry is not None and entry.stat == key:  # the content the file's result is of
            slot = facet_slot(IMPORTS_FACET, task.relpath)
            cache.store(slot, key, entry.digest, {"facet": " ".join(found)})

    def _prefetch_import_lists(self, model: ProjectModel, codes: set[str]) -> None:
        """Scan every file's imports on all cores before the join, when a question of a rule
        that reads them (``READS_IMPORT_SCANS``) will (:meth:`ProjectModel.reads_import_scans`):
        one lane of the join would otherwise scan them all alone."""
        if not any(getattr(_RULES.get(code), "READS_IMPORT_SCANS", False) for code in codes):
            return
        if not model.reads_import_scans():
            return
        missing = [path for path in model.scans if not holds(self._results[path], "imports")]
        self._scan_imports(missing)

    def _describe(self, path: str) -> tuple[str | None, tuple[str, ...]]:
        found = self._described.get(path)
        if found is None:  # the listing and the configs are fixed for a run
            module_name, package_root = self.index().identity(path)
            config = self.config_for(self.resolver.for_path(Path(path)))
            found = self._described[path] = (
                module_name,
                search_roots(package_root, str(config.root)),
            )
        return found

    def _facts(self, path: str, values: dict[str, Any]) -> ModuleFacts:
        module_name, roots = self._describe(path)
        return ModuleFacts.from_facts(path, module_name, roots, values)

    def _facets(self) -> dict[str, Any]:
        facets: dict[str, Any] = {VALUES_FACET: values_facet}
        for rule in self.rules:
            if issubclass(rule, PythonRule):
                facets.update(rule.FACETS)
        return facets

    def _load_values(self, path: str) -> ModuleFacts | None:
        values = self._load_facet(path, VALUES_FACET)
        return None if values is None else self._facts(path, values)

    def _load_facet(self, path: str, name: str) -> Any:
        """A facet of any project module: from this run's results, what an earlier round of
        the join fetched, or the cache; otherwise :class:`Missing` (fetched in parallel)."""
        result = getattr(self, "_results", {}).get(path)
        if result is not None and name in result.get("facets", {}):
            return result["facets"][name]
        fetched = self._fetched.get((path, name), _NOT_FETCHED)
        if fetched is not _NOT_FETCHED:
            return fetched
        if (path, name) in self._missing or path in self.buffers:
            raise Missing(path, name)
        config = self.config_for(self.resolver.for_path(Path(path)))
        if not self.boundary.contains(path, config.root):
            return None  # never read through a link out of the project
        try:
            key = stat_key(os.stat(path))
        except OSError:
            return None
        hit = self.cache_for(config).lookup(facet_slot(name, config.relpath(Path(path))), key)
        if hit is not None:
            return hit.get("facet")
        # Asked again until the round's fetch answers it: the stat and cache lookup once.
        self._missing.add((path, name))
        raise Missing(path, name)

    def _fetch(self, wanted: list[tuple[str, str]]) -> list[tuple[str, str, dict[str, Any]]]:
        """Compute the facets a round of the join asked for, on every core: remembered for
        the rest of this lane's rounds, and returned for the parent to cache
        (:meth:`_cache_fetched`)."""
        tasks = []
        for path, name in wanted:
            config = self.config_for(self.resolver.for_path(Path(path)))
            tasks.append(
                _FacetTask(path, config.relpath(Path(path)), config, name, self.buffers.get(path))
            )
        workers = self._workers() if self._fetch_workers is None else self._fetch_workers
        if len(tasks) < 4:
            workers = 0  # a fork costs more than parsing a few modules here
        pool = WorkerPool(_run_facet_task, _failed_facet_task, workers, chunk_size=2)
        outputs = []
        for task, output in zip(tasks, pool.map(tasks), strict=True):
            self._fetched[(task.path, task.name)] = output["facet"]
            outputs.append((task.path, task.name, output))
        return outputs

    def _cache_fetched(self, path: str, name: str, output: dict[str, Any]) -> None:
        """A facet the join fetched, cached with its file's stat (a buffer's never is)."""
        if output.get("stat") is None or path in self.buffers:
            return
        config = self.config_for(self.resolver.for_path(Path(path)))
        slot = facet_slot(name, config.relpath(Path(path)))
        cache = self.cache_for(config)
        cache.store(slot, tuple(output["stat"]), output["digest"], {"facet": output["facet"]})  # type: ignore[arg-type]

    def _workers(self) -> int:
        return default_workers() if self.settings.jobs is None else self.settings.jobs

    # -- filters ----------------------------------------------------------------------------

    def _apply_per_file_ignores(
        self, findings: list[Finding], candidates: list[Candidate]
    ) -> list[Finding]:
        by_display = {display_path(c.path, self.cwd): c for c in candidates}
        out = []
        for f in findings:
            cand = by_display.get(f.path)
            if cand is not None:
                config = self.config_for(cand.config)
                ignored = [
                    code
                    for glob, codes in config.per_file_ignores.items()
                    if matches_any((glob,), cand.relpath)
                    for code in codes
                ]
                if ignored and not is_selected(f.code, ["ALL"], ignored):
                    continue
            out.append(f)
        return out

    def _only_changed(self, findings: list[Finding]) -> list[Finding]:
        assert self.settings.changed_since is not None
        changed = changed_files(self.settings.changed_since, self.cwd)
        out = []
        for f in findings:
            path = Path(os.path.realpath(self.cwd / f.path))
            depends = {Path(os.path.realpath(p)) for p in f.data.get("depends_on", [])}
            if path in changed or depends & changed:
                out.append(f)
        return out


def _imports_wanted() -> Any:
    """This run's flag (cleared) that tells the workers to scan every file's imports."""
    global _IMPORTS_WANTED
    if _IMPORTS_WANTED is None:  # made once, before any worker is forked
        _IMPORTS_WANTED = RawValue("b", 0)
    _IMPORTS_WANTED.value = 0
    return _IMPORTS_WANTED


def facet_slot(name: str, relpath: str) -> str:
    """The cache slot of what the join computed for one file (a facet, an import scan)."""
    return f"facet:{name}:{relpath}"


def _stat_or_none(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return stat_key(st) if stat_module.S_ISREG(st.st_mode) else None


def phases_json(result: CheckResult) -> str:
    """The figures ``SOMATRACE_PHASES=<file>`` writes (read by ``benchmarks/check_vs_ruff.py``)."""
    return json.dumps({"phases": result.phases, "files": result.counts}, indent=2)
