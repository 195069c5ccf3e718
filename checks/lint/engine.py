"""One ``somatrace check`` run: discover -> pre-filter -> parse once -> all rules in one pass ->
project pass -> suppressions -> findings.

Cost scales with what can hold a finding, not with file count: a file is read and scanned for
the rules' trigger strings, and only parsed (with LibCST, once) when at least one selected rule
can apply to it; the visit resolves only the metadata those rules declare. Files that need
parsing are spread over a process pool; results are cached per file content and settings.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from somatrace.checks.lint.cache import Cache, content_hash
from somatrace.checks.lint.config import Config, ConfigResolver, is_selected, load_config_file
from somatrace.checks.lint.discovery import Candidate, changed_files, discover
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.globs import matches_any
from somatrace.checks.lint.modules import module_identity
from somatrace.checks.lint.rule import FileContext, ProjectRule, PythonRule, Rule, TextRule
from somatrace.checks.lint.source import Source, Unreadable, decode, read_bytes
from somatrace.checks.lint.suppression import apply_noqa

PARSE_ERROR = "ST900"
# Below this many files (and bytes) to read, a process pool costs more than it saves.
PARALLEL_THRESHOLD = 48
PARALLEL_BYTES = 96 * 1024  # LibCST's metadata costs ~25 ms per KB parsed


@dataclass
class CheckSettings:
    select: list[str] | None = None  # replaces the config's select
    ignore: list[str] = field(default_factory=list)  # extends the config's ignore
    extend_select: list[str] = field(default_factory=list)
    config_file: Path | None = None
    use_cache: bool = True
    changed_since: str | None = None
    jobs: int | None = None


@dataclass
class CheckResult:
    findings: list[Finding]
    files_checked: int = 0
    files_parsed: int = 0
    files_cached: int = 0
    elapsed: float = 0.0
    roots: list[Path] = field(default_factory=list)


def display_path(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return path.as_posix()


def effective_config(config: Config, settings: CheckSettings) -> Config:
    overrides: dict[str, Any] = {}
    if settings.select is not None:
        overrides["select"] = list(settings.select)
    if settings.extend_select:
        overrides["select"] = list(overrides.get("select", config.select)) + settings.extend_select
    if settings.ignore:
        overrides["ignore"] = list(config.ignore) + list(settings.ignore)
    return config.with_overrides(**overrides) if overrides else config


# The rules of the running check, set by :class:`Engine` before any worker is forked (so that
# workers inherit them): the engine is given its rules, it never imports the rules layer.
_RULES: tuple[type[Rule], ...] = ()


def active_rules(config: Config) -> list[type[Rule]]:
    key = (_RULES, tuple(config.select), tuple(config.ignore))
    rules = _ACTIVE.get(key)
    if rules is None:
        rules = [r for r in _RULES if is_selected(r.CODE, config.select, config.ignore)]
        _ACTIVE[key] = rules
    return rules


_ACTIVE: dict[tuple[object, ...], list[type[Rule]]] = {}


def make_context(path: Path, relpath: str, display: str, config: Config) -> FileContext:
    module_name, package_root = module_identity(path)
    return FileContext(
        path=path,
        display_path=display,
        relpath=relpath,
        module_name=module_name,
        package_root=package_root,
        config=config,
        is_configured_entrypoint=matches_any(tuple(config.entrypoints), relpath),
    )


def _unreadable_finding(problem: Unreadable, display: str) -> Finding:
    return Finding(
        path=display,
        line=problem.line,
        col=problem.col,
        code=PARSE_ERROR,
        message=f"cannot check this file: {problem.reason}",
    )


def _empty_result() -> dict[str, Any]:
    return {"findings": [], "summaries": {}, "parsed": False}


def _syntax_error_finding(source: Source, ctx: FileContext, exc: Any) -> Finding:
    """Locate a syntax error precisely: CPython's parser names the offending token; LibCST's
    position is often the next line. When CPython accepts the file, LibCST is the limit."""
    import ast

    try:
        ast.parse(source.data, filename=str(ctx.path))
    except SyntaxError as err:
        line, col = err.lineno or 1, err.offset or 1
        return Finding(
            ctx.display_path, line, col, PARSE_ERROR, f"cannot parse this file: {err.msg}"
        )
    except (ValueError, RecursionError, MemoryError):
        pass
    return Finding(
        ctx.display_path,
        exc.editor_line,
        exc.editor_column,
        PARSE_ERROR,
        "cannot parse this file: valid Python that LibCST does not support yet "
        f"({exc.message.splitlines()[0]})",
    )


def parse_and_visit(
    source: Source, ctx: FileContext, rules: list[type[PythonRule]], report_parse_errors: bool
) -> dict[str, Any]:
    """Parse ``source`` once and run ``rules`` over it in a single batched traversal."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    try:
        module = cst.parse_module(source.data)
    except cst.ParserSyntaxError as exc:
        if not report_parse_errors:
            return _empty_result() | {"parsed": True}
        f = _syntax_error_finding(source, ctx, exc)
        return {"findings": [f.to_dict()], "summaries": {}, "parsed": True}
    except (RecursionError, MemoryError, ValueError, Exception) as exc:
        if not report_parse_errors:
            return _empty_result() | {"parsed": True}
        reason = f"the parser failed: {type(exc).__name__}: {exc}"[:300]
        f = Finding(ctx.display_path, 1, 1, PARSE_ERROR, f"cannot parse this file: {reason}")
        return {"findings": [f.to_dict()], "summaries": {}, "parsed": True}
    visitors = [rule(ctx) for rule in rules]
    try:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        wrapper.visit_batched(visitors)
        if any(visitor.pending for visitor in visitors):
            positions = wrapper.resolve(PositionProvider)
            for visitor in visitors:
                visitor.resolve_pending(positions)
    except RecursionError:
        f = Finding(
            ctx.display_path, 1, 1, PARSE_ERROR, "cannot check this file: nested too deeply"
        )
        return {"findings": [f.to_dict()], "summaries": {}, "parsed": True}
    except Exception as exc:
        # A bug in a rule is reported on the file it met, loudly, and every other file is
        # still checked. ST900 keeps the file out of `somatrace fix`.
        codes = ",".join(rule.CODE for rule in rules)
        f = Finding(
            ctx.display_path,
            1,
            1,
            PARSE_ERROR,
            f"cannot check this file: internal error in {codes} "
            f"({type(exc).__name__}: {exc}); please report it"[:400],
        )
        return {"findings": [f.to_dict()], "summaries": {}, "parsed": True}
    findings: list[Finding] = []
    summaries: dict[str, Any] = {}
    for visitor in visitors:
        findings.extend(visitor.findings)
        summary = visitor.file_summary()
        if summary is not None:
            summaries[visitor.CODE] = summary
    findings = apply_noqa(findings, source.text)
    return {"findings": [f.to_dict() for f in findings], "summaries": summaries, "parsed": True}


def analyze_source(
    source: Source, ctx: FileContext, rules: list[type[Rule]], report_parse_errors: bool
) -> dict[str, Any]:
    """Run every applicable rule on one already-decoded file."""
    if ctx.relpath.endswith(".py"):
        py_rules = [
            r for r in rules if issubclass(r, PythonRule) and r.applies_to(source.data, ctx)
        ]
        if not py_rules:
            return _empty_result()
        return parse_and_visit(source, ctx, py_rules, report_parse_errors)
    findings: list[Finding] = []
    for rule in rules:
        if (
            issubclass(rule, TextRule)
            and matches_any(rule.FILE_PATTERNS, ctx.relpath)
            and rule.applies_to(source.data, ctx)
        ):
            findings.extend(rule(ctx).check_text(source.text, ctx))
    findings = apply_noqa(findings, source.text)
    return {"findings": [f.to_dict() for f in findings], "summaries": {}, "parsed": bool(findings)}


@dataclass
class _Task:
    """One file whose cached result could not be used: read, pre-filter, parse if needed."""

    path: Path
    relpath: str
    display: str
    config: Config
    codes: tuple[str, ...]
    max_size: int
    known_digest: str | None  # the cached entry's content hash, if any


def _analyze_bytes(task: _Task, data: bytes) -> dict[str, Any]:
    rules = [r for r in _RULES if r.CODE in task.codes]
    python = task.relpath.endswith(".py")
    ctx = make_context(task.path, task.relpath, task.display, task.config)
    if python and not any(issubclass(r, PythonRule) and r.applies_to(data, ctx) for r in rules):
        # Nothing can report here; still refuse binary or undecodable files loudly.
        if b"\0" not in data and _decodes(data, task.path):
            return _empty_result()
    decoded = decode(task.path, data, python=python)
    if isinstance(decoded, Unreadable):
        if PARSE_ERROR not in task.codes:
            return _empty_result()
        return {"findings": [_unreadable_finding(decoded, task.display).to_dict()], "summaries": {}}
    return analyze_source(decoded, ctx, rules, PARSE_ERROR in task.codes)


def _run_task(task: _Task) -> dict[str, Any]:
    """Runs in a worker process (or inline): everything one file costs, off the main process."""
    data = read_bytes(task.path, task.max_size)
    if isinstance(data, Unreadable):
        finding = _unreadable_finding(data, task.display) if PARSE_ERROR in task.codes else None
        return {"kind": "unreadable", "finding": finding.to_dict() if finding else None}
    try:
        st = os.stat(task.path)
        size, mtime_ns = st.st_size, st.st_mtime_ns
    except OSError:
        size, mtime_ns = len(data), 0
    digest = content_hash(data)
    meta = {"digest": digest, "size": size, "mtime_ns": mtime_ns}
    if digest == task.known_digest:
        return {"kind": "unchanged", **meta}
    return {"kind": "result", "result": _analyze_bytes(task, data), **meta}


def _run_tasks(tasks: list[_Task], workers: int) -> list[dict[str, Any]]:
    """Both cores: tasks go biggest first, in chunks, to a forked pool; results keep order."""
    if workers <= 1 or len(tasks) < 2:
        return [_run_task(task) for task in tasks]
    context = multiprocessing.get_context("fork")
    chunk = max(1, min(32, len(tasks) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(_run_task, tasks, chunksize=chunk))


@dataclass(frozen=True, slots=True)
class _Stat:
    st_size: int
    st_mtime_ns: int


class ProjectIndex:
    """What a :class:`ProjectRule` sees: every file's summary, and more on demand."""

    def __init__(self, rule: type[ProjectRule], engine: Engine) -> None:
        self.rule = rule
        self.engine = engine
        self.summaries: dict[Path, Any] = {}
        self.contexts: dict[Path, FileContext] = {}

    def add(self, ctx: FileContext, summary: Any) -> None:
        self.summaries[ctx.path] = summary
        self.contexts[ctx.path] = ctx

    def summary_for(self, path: Path) -> Any | None:
        """The rule's summary of any Python file in the project, computed (and cached) if new."""
        if path in self.summaries:
            return self.summaries[path]
        summary = self.engine.summarize_on_demand(self.rule, path)
        self.summaries[path] = summary
        return summary

    def context_for(self, path: Path) -> FileContext:
        ctx = self.contexts.get(path)
        if ctx is None:
            config = self.engine.resolver.for_path(path)
            ctx = make_context(
                path, config.relpath(path), display_path(path, self.engine.cwd), config
            )
            self.contexts[path] = ctx
        return ctx


class Engine:
    def __init__(
        self, settings: CheckSettings, rules: Iterable[type[Rule]], cwd: Path | None = None
    ) -> None:
        global _RULES
        self.rules = tuple(rules)
        _RULES = self.rules
        self.settings = settings
        self.cwd = Path(os.path.abspath(cwd or Path.cwd()))
        explicit = load_config_file(settings.config_file) if settings.config_file else None
        self.resolver = ConfigResolver(explicit=explicit, fallback_root=self._fallback_root())
        self._caches: dict[Path, Cache] = {}
        self._effective: dict[int, Config] = {}

    def _fallback_root(self) -> Path:
        from somatrace.checks.lint.discovery import _git_toplevel

        return _git_toplevel(self.cwd) or self.cwd

    def config_for(self, candidate_config: Config) -> Config:
        key = id(candidate_config)
        if key not in self._effective:
            self._effective[key] = effective_config(candidate_config, self.settings)
        return self._effective[key]

    def cache_for(self, config: Config) -> Cache:
        cache = self._caches.get(config.root)
        if cache is None:
            codes = ",".join(r.CODE for r in active_rules(config))
            cache = Cache.load(
                config.root, f"{config.fingerprint()}:{codes}", enabled=self.settings.use_cache
            )
            self._caches[config.root] = cache
        return cache

    def text_patterns(self) -> tuple[str, ...]:
        patterns: list[str] = []
        for rule in self.rules:
            if issubclass(rule, TextRule):
                patterns.extend(rule.FILE_PATTERNS)
        return tuple(dict.fromkeys(patterns))

    def summarize_on_demand(self, rule: type[ProjectRule], path: Path) -> Any | None:
        config = self.config_for(self.resolver.for_path(path))
        cache = self.cache_for(config)
        name = f"summary:{rule.CODE}:{config.relpath(path)}"
        try:
            st = os.stat(path)
        except OSError:
            return None
        hit = cache.lookup_stat(name, st)
        if hit is not None:
            return hit.get("summary")
        data = read_bytes(path, int(config.get("max-file-size")))
        if isinstance(data, Unreadable):
            return None
        digest = content_hash(data)
        hit = cache.lookup_digest(name, st, digest)
        if hit is not None:
            return hit.get("summary")
        decoded = decode(path, data, python=True)
        summary = None
        if not isinstance(decoded, Unreadable):
            ctx = make_context(path, config.relpath(path), display_path(path, self.cwd), config)
            summary = rule.quick_summary(data, ctx)
            if summary is None:
                result = parse_and_visit(decoded, ctx, [rule], report_parse_errors=False)
                summary = result["summaries"].get(rule.CODE)
        cache.store(name, st, digest, {"summary": summary})
        return summary

    def run(self, paths: list[Path]) -> CheckResult:
        started = time.perf_counter()
        candidates = discover(paths, self.resolver, self.text_patterns())
        findings: list[Finding] = []
        results: dict[Path, dict[str, Any]] = {}
        contexts: dict[Path, FileContext] = {}
        cached = 0
        tasks: list[_Task] = []
        task_info: list[tuple[Candidate, Config, int]] = []
        for cand in candidates:
            config = self.config_for(cand.config)
            rules = active_rules(config)
            if not rules:
                continue
            cache = self.cache_for(config)
            size = 0
            try:
                st = os.stat(cand.path)
                size = st.st_size
                hit = cache.lookup_stat(cand.relpath, st)
            except OSError:
                hit = None
            if hit is not None:
                results[cand.path] = hit
                cached += 1
                continue
            entry = cache.entries.get(cand.relpath)
            tasks.append(
                _Task(
                    path=cand.path,
                    relpath=cand.relpath,
                    display=display_path(cand.path, self.cwd),
                    config=config,
                    codes=tuple(r.CODE for r in rules),
                    max_size=int(config.get("max-file-size")),
                    known_digest=entry.digest if entry is not None else None,
                )
            )
            task_info.append((cand, config, size))

        # Biggest first, so that no worker is left with one large file at the end.
        order = sorted(range(len(tasks)), key=lambda i: -task_info[i][2])
        total = sum(info[2] for info in task_info)
        workers = self.settings.jobs or os.cpu_count() or 1
        parallel = len(tasks) >= PARALLEL_THRESHOLD or total > PARALLEL_BYTES
        outputs = _run_tasks([tasks[i] for i in order], workers if parallel else 1)
        parsed = 0
        for i, output in zip(order, outputs, strict=True):
            cand, config, _ = task_info[i]
            cache = self.cache_for(config)
            if output["kind"] == "unreadable":
                if output["finding"] is not None:
                    findings.append(Finding.from_dict(output["finding"]))
                continue
            st_like = _Stat(output["size"], output["mtime_ns"])
            if output["kind"] == "unchanged":
                hit = cache.lookup_digest(cand.relpath, st_like, output["digest"])  # type: ignore[arg-type]
                if hit is not None:
                    results[cand.path] = hit
                    cached += 1
                    continue
            result = output["result"]
            results[cand.path] = result
            parsed += bool(result.get("parsed"))
            cache.store(cand.relpath, st_like, output["digest"], result)  # type: ignore[arg-type]

        for cand in candidates:
            result = results.get(cand.path)
            if result is None:
                continue
            if result.get("summaries"):  # only the project pass needs a file's context
                config = self.config_for(cand.config)
                contexts[cand.path] = make_context(
                    cand.path, cand.relpath, display_path(cand.path, self.cwd), config
                )
            findings.extend(Finding.from_dict(f) for f in result.get("findings", []))

        findings.extend(self._project_pass(candidates, results, contexts))
        findings = self._apply_per_file_ignores(findings, candidates)
        if self.settings.changed_since:
            findings = self._only_changed(findings)
        for cache in self._caches.values():
            cache.save()
        findings.sort(key=lambda f: f.sort_key)
        return CheckResult(
            findings=findings,
            files_checked=len(candidates),
            files_parsed=parsed,
            files_cached=cached,
            elapsed=time.perf_counter() - started,
            roots=sorted({c.root for c in self._effective.values()}),
        )

    def _project_pass(
        self,
        candidates: list[Candidate],
        results: dict[Path, dict[str, Any]],
        contexts: dict[Path, FileContext],
    ) -> list[Finding]:
        out: list[Finding] = []
        # A rule may be selected in one nested project and not another: check per candidate.
        project_rules = [
            r
            for r in self.rules
            if issubclass(r, ProjectRule)
            and any(
                is_selected(
                    r.CODE, self.config_for(c.config).select, self.config_for(c.config).ignore
                )
                for c in candidates
            )
        ]
        for rule in project_rules:
            index = ProjectIndex(rule, self)
            for path, result in results.items():
                summary = result.get("summaries", {}).get(rule.CODE)
                if summary is not None and path in contexts:
                    ctx = contexts[path]
                    if is_selected(rule.CODE, ctx.config.select, ctx.config.ignore):
                        index.add(ctx, summary)
            project_findings = list(rule.check_project(index))
            out.extend(self._suppress_project(project_findings, index))
        return out

    def _suppress_project(self, findings: Iterable[Finding], index: ProjectIndex) -> list[Finding]:
        by_path: dict[str, list[Finding]] = {}
        for f in findings:
            by_path.setdefault(f.path, []).append(f)
        kept: list[Finding] = []
        paths = {ctx.display_path: p for p, ctx in index.contexts.items()}
        for display, group in by_path.items():
            path = paths.get(display)
            text = ""
            if path is not None:
                source = read_bytes(path, 1 << 62)
                if not isinstance(source, Unreadable):
                    decoded = decode(path, source, python=True)
                    if not isinstance(decoded, Unreadable):
                        text = decoded.text
            kept.extend(apply_noqa(group, text))
        return kept

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


def _decodes(data: bytes, path: Path) -> bool:
    return not isinstance(decode(path, data, python=True), Unreadable)
