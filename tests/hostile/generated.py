"""Generated programs through ``somatrace check``, real files with an inserted entrypoint or span
through ``somatrace fix`` - the shared pipeline of ``tests/hostile/test_generated_programs.py``
(small, seeded) and ``benchmarks/generated_programs.py`` (>= 2,000 programs, >= 300 files).

It lives under ``tests/`` because the benchmarks import test code and not the reverse
(``benchmarks/`` is a folder of scripts, not a package; ``benchmarks/fix_real_world.py`` imports
``tests.fixers.real_world`` the same way).

Phase 1, *check*: ``hypothesmith.from_grammar()`` (and ``from_node()``) programs, drawn by
Hypothesis with a fixed seed, written as real files into real git repositories (one per batch),
and the real ``somatrace check --output-format json`` CLI run over each tree. Some programs are
*primed*: a header imports FastAPI and OpenTelemetry and a footer builds an app and starts a span,
so that every rule's screen passes and the rules and the project join run over the generated
code. Asserted per tree: no traceback, exit code 0 or 1, valid JSON, every finding on a file of
the tree and on a line of it, no ST900 on a program CPython compiles, and an ``internal error``
ST900 never. The primed trees then go through ``somatrace fix`` (phase 2's assertions).

Phase 2, *fix*: real Python files (from pinned wheels, or an installed package) get a service
entrypoint (an ``if __name__ == "__main__":`` block building a FastAPI app and running uvicorn,
ST101) or an OpenTelemetry span without tags (ST301) inserted at a real position: before a
module-level statement, or as the first statement of one of the file's functions. The file's
package stays around it. Files on which the gate already reports ST101/ST301 are left out, so the
inserted construct is the only thing to fix. Asserted per file: the gate reports the inserted
finding with a safe fix; after ``somatrace fix`` the file compiles, the gate reports neither rule
there, a second run (``fix --diff``) changes nothing, every other file of the tree is
byte-identical, and the line diff holds only what the fixers are documented to add: the import
line(s) at module level, the ``init_tracing("<service>")`` call inside the inserted block, and
``attributes=span_tags()`` on the inserted span's own line.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import io
import json
import re
import shutil
import subprocess
import time
import tokenize
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import init_repo, run_cli

FIXED_CODES = ("ST101", "ST301")
PROGRAM_CONFIG = "[tool.somatrace]\nexclude = []\n"

# -- phase 1: generated programs -------------------------------------------------------------

PRIME_HEADER = "from fastapi import FastAPI\nfrom opentelemetry import trace\n"
PRIME_FOOTER = (
    "_st_tracer = trace.get_tracer(__name__)\n"
    'with _st_tracer.start_as_current_span("generated"):\n'
    "    pass\n"
    "app = FastAPI()\n"
)


@dataclass(frozen=True)
class Program:
    name: str  # the file name in its tree
    source: str
    origin: str  # "grammar" or "node"
    primed: bool  # PRIME_HEADER + source + PRIME_FOOTER

    @property
    def data(self) -> bytes:
        return self.source.encode("utf-8", "surrogatepass")


def _draw(strategy: object, examples: int, seed: int) -> list[str]:
    """``examples`` values of a Hypothesis strategy, deterministically for a given seed (and
    Hypothesis version): generation only, no database, no shrinking."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    drawn: list[str] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(source: str) -> None:
        drawn.append(source)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hypothesmith compiles its programs: SyntaxWarnings
        collect()
    return drawn


def _compiles(data: bytes) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(data, "<generated>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def _primed(source: str) -> str | None:
    text = PRIME_HEADER + source
    if not text.endswith(("\n", "\r")):
        text += "\n"
    text += PRIME_FOOTER
    return text if _compiles(text.encode("utf-8", "surrogatepass")) else None


@dataclass
class Generated:
    programs: list[Program]
    drawn: Counter[str] = field(default_factory=Counter)  # draws per origin (with duplicates)
    not_primable: int = 0  # primed programs whose header/footer did not compile (kept as is)
    seconds: float = 0.0


def generate_programs(
    count: int, seed: int, node_count: int = 0, prime_every: int = 2
) -> Generated:
    """``count`` distinct ``from_grammar()`` programs and up to ``node_count`` distinct
    ``from_node()`` ones; every ``prime_every``-th is primed. Seeds ``seed``, ``seed + 1``, ...
    are drawn until there are enough distinct programs."""
    import hypothesmith

    started = time.perf_counter()
    out = Generated([])
    seen: set[str] = set()
    wanted: list[tuple[str, object, int]] = [("grammar", hypothesmith.from_grammar(), count)]
    if node_count:
        wanted.append(("node", hypothesmith.from_node(), node_count))
    for origin, strategy, target in wanted:
        distinct: list[str] = []
        round_seed = seed
        for _ in range(50):
            if len(distinct) >= target:
                break
            batch = _draw(strategy, max(target - len(distinct), 10), round_seed)
            out.drawn[origin] += len(batch)
            for source in batch:
                if source not in seen:
                    seen.add(source)
                    distinct.append(source)
            round_seed += 1
        for source in distinct[:target]:
            index = len(out.programs)
            primed = index % prime_every == 0
            text = _primed(source) if primed else source
            if text is None:
                out.not_primable += 1
                text, primed = source, False
            out.programs.append(Program(f"p{index:05d}_{origin}.py", text, origin, primed))
    out.seconds = time.perf_counter() - started
    return out


@dataclass
class Tally:
    """What a phase saw, for the report; ``failures`` make the run fail."""

    trees: int = 0
    files: int = 0
    findings: Counter[str] = field(default_factory=Counter)
    st900: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)  # reasons a file was left out, etc.
    failures: list[str] = field(default_factory=list)
    seconds: Counter[str] = field(default_factory=Counter)  # wall time per step

    def merge(self, other: Tally) -> None:
        self.trees += other.trees
        self.files += other.files
        self.findings.update(other.findings)
        self.st900.update(other.st900)
        self.notes.update(other.notes)
        self.failures.extend(other.failures)
        self.seconds.update(other.seconds)


def make_tree(root: Path, files: dict[str, bytes]) -> None:
    """A real git repository with its own ``[tool.somatrace]`` and the files (untracked files
    are discovered too: ``git ls-files --others``)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(PROGRAM_CONFIG, encoding="utf-8")
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    init_repo(root)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(text: str) -> list[str]:
    """``text``'s lines with their endings, as CPython counts lines (``\\n``, ``\\r\\n``, ``\\r``;
    not the form feeds and separators ``str.splitlines`` also splits at)."""
    return _LINE.findall(text)


def _lines(data: bytes) -> int:
    """The number of lines CPython counts in ``data`` (a last line without newline counts)."""
    return len(split_lines(data.decode("utf-8", "replace"))) or 1


def _cli(tally: Tally, step: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    started = time.perf_counter()
    proc = run_cli(*args, cwd=cwd)
    tally.seconds[step] += time.perf_counter() - started
    if "Traceback (most recent call last)" in proc.stdout + proc.stderr:
        tally.failures.append(f"{cwd.name}: `{' '.join(args)}` printed a traceback:\n{proc.stderr}")
    return proc


def run_check(tally: Tally, root: Path, step: str, *extra: str) -> list[dict[str, object]] | None:
    """``somatrace check --output-format json`` over ``root``: its findings, each asserted to be
    on a file of the tree and on one of its lines; ``None`` (and a failure) when it crashed."""
    proc = _cli(
        tally, step, "check", "--no-cache", "--output-format", "json", *extra, ".", cwd=root
    )
    if proc.returncode not in (0, 1):
        tally.failures.append(f"{root.name}: check exited {proc.returncode}:\n{proc.stderr}")
        return None
    try:
        records = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        tally.failures.append(f"{root.name}: check printed invalid JSON ({exc}): {proc.stdout!r}")
        return None
    if not isinstance(records, list) or (proc.returncode == 1) != bool(records):
        tally.failures.append(f"{root.name}: exit {proc.returncode} with {len(records)} findings")
        return None
    sizes: dict[str, int] = {}
    for record in records:
        path, line = record["path"], record["location"]["line"]
        target = root / path
        if not target.is_file():
            tally.failures.append(f"{root.name}: finding on a file that does not exist: {record}")
            continue
        if path not in sizes:
            sizes[path] = _lines(target.read_bytes())
        if not 1 <= line <= sizes[path]:
            tally.failures.append(
                f"{root.name}/{path}: finding on line {line} of a {sizes[path]}-line file: {record}"
            )
    return records


def _st900_reason(message: str) -> str:
    reason = re.sub(r"^cannot (?:parse|check) this file: ", "", message)
    return re.sub(r"line \d+|\d+", "N", reason)[:120]


def check_programs(programs: Sequence[Program], workdir: Path, batch_size: int = 200) -> Tally:
    """Phase 1: each batch of programs in its own tree through ``somatrace check``; the primed
    trees then through ``somatrace fix``."""
    tally = Tally()
    for start in range(0, len(programs), batch_size):
        batch = programs[start : start + batch_size]
        root = workdir / f"programs-{start // batch_size:03d}"
        make_tree(root, {p.name: p.data for p in batch})
        tally.trees += 1
        tally.files += len(batch)
        records = run_check(tally, root, "check")
        if records is None:
            continue
        by_name = {p.name: p for p in batch}
        primed_hits: Counter[tuple[str, str]] = Counter()
        for record in records:
            code, message, path = str(record["code"]), str(record["message"]), str(record["path"])
            tally.findings[code] += 1
            program = by_name.get(path)
            if program is None:
                tally.failures.append(f"{root.name}: finding on a file not written: {record}")
                continue
            primed_hits[(path, code)] += 1
            if code == "ST900":
                tally.st900[_st900_reason(message)] += 1
                if "internal error" in message:
                    tally.failures.append(f"{root.name}/{path}: {message}\n{program.source!r}")
                elif _compiles(program.data):
                    tally.failures.append(
                        f"{root.name}/{path}: ST900 on a program CPython compiles: {message}\n"
                        f"{program.source!r}"
                    )
        for program in batch:
            if not program.primed:
                continue
            missing = [c for c in FIXED_CODES if not primed_hits[(program.name, c)]]
            if missing:
                # A generated body may legitimately hide the footer's app or span (a star
                # import rebinding FastAPI, say): tallied and shown, not a failure.
                tally.notes[f"primed program without {'/'.join(missing)}"] += 1
        primed = [p for p in batch if p.primed]
        if primed:
            regions = {p.name: footer_region(p.source) for p in primed}
            fix_tree(tally, root, regions, step="fix primed")
    return tally


def footer_region(source: str) -> tuple[int, int]:
    """The 1-based line range of the primed footer in ``source``."""
    total = len(split_lines(source))
    return total - len(split_lines(PRIME_FOOTER)) + 1, total


# -- phase 2: real files with an inserted entrypoint or span ---------------------------------

ENTRYPOINT = (
    'if __name__ == "__main__":  # somatrace-generated entrypoint',
    "    import uvicorn",
    "    from fastapi import FastAPI",
    "    _st_app = FastAPI()",
    "    uvicorn.run(_st_app)",
)
SPAN = (
    "from opentelemetry import trace as _st_trace",
    'with _st_trace.get_tracer(__name__).start_as_current_span("somatrace-generated"):',
    "{unit}pass",
)

# What the fixers add, by their documented contracts (fixers/missing_init_tracing.py,
# fixers/span_missing_tags.py): whole new lines, and one fragment on the span's own line.
ADDED_IMPORT = re.compile(
    r"from somatrace\.tracing import init_tracing|from somatrace\.tags import span_tags"
)
ADDED_CALL = re.compile(r"[ \t]*init_tracing\((\"|')[\w.-]+\1\)")
ADDED_FRAGMENTS = (", attributes=span_tags()", "attributes=span_tags()")


@dataclass(frozen=True)
class Insertion:
    kind: str  # "entrypoint" (ST101) or "span" (ST301)
    text: str  # the file with the insertion
    first: int  # 1-based first and last inserted line
    last: int

    @property
    def code(self) -> str:
        return "ST101" if self.kind == "entrypoint" else "ST301"


def _decode(data: bytes) -> str | None:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return None
    return text if encoding == "utf-8" else None  # re-encoded byte for byte


def _newline(text: str) -> str:
    first = split_lines(text)[:1]
    return "\r\n" if first and first[0].endswith("\r\n") else "\n"


def _statement_start(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None) or []
    return min([node.lineno, *(d.lineno - 1 for d in decorators)])


def _insertable(lines: list[str], lineno: int, col: int) -> bool:
    """A new line may go before line ``lineno``: the statement starts it at ``col`` and the line
    before does not continue into it."""
    if not 1 <= lineno <= len(lines):
        return False
    line = lines[lineno - 1]
    if line[:col].strip(" \t") or not line[col:].strip():
        return False
    before = lines[lineno - 2].rstrip("\r\n") if lineno >= 2 else ""
    return not before.endswith("\\")


def _splice(lines: list[str], lineno: int, new: list[str], newline: str) -> str:
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines = [*lines[:-1], lines[-1] + newline]
    return "".join(lines[: lineno - 1] + [n + newline for n in new] + lines[lineno - 1 :])


def _pick(candidates: Sequence[int], key: str) -> int:
    return candidates[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(candidates)]


def insert_entrypoint(text: str, key: str) -> Insertion | None:
    """The ``__main__`` block before a module-level statement (or at the end), chosen by
    ``key``; never before a docstring or a ``from __future__`` import."""
    tree = ast.parse(text)
    lines = split_lines(text)
    body = tree.body
    skip = (
        1
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
        else 0
    )
    while (
        skip < len(body)
        and isinstance(body[skip], ast.ImportFrom)
        and body[skip].module == "__future__"
    ):
        skip += 1
    starts = [_statement_start(s) for s in body[skip:]]
    candidates = [n for n in starts if _insertable(lines, n, 0)] + [len(lines) + 1]
    lineno = _pick(candidates, key)
    newline = _newline(text)
    new = _splice(lines, lineno, list(ENTRYPOINT), newline)
    return Insertion("entrypoint", new, lineno, lineno + len(ENTRYPOINT) - 1)


def insert_span(text: str, key: str) -> Insertion | None:
    """The span as the first statement (after the docstring) of one of the file's functions,
    chosen by ``key``; ``None`` when no function has a body that starts a line of its own."""
    tree = ast.parse(text)
    lines = split_lines(text)
    sites: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body = node.body
        first = (
            1 if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else 0
        )
        if first >= len(body):
            continue
        stmt = body[first]
        lineno = _statement_start(stmt)
        if lineno == node.lineno or not _insertable(lines, lineno, stmt.col_offset):
            continue
        sites.append((lineno, lines[lineno - 1][: stmt.col_offset]))
    if not sites:
        return None
    sites.sort()
    lineno, indent = sites[_pick(range(len(sites)), key)]
    unit = "\t" if "\t" in indent else "    "
    new_lines = [indent + line.format(unit=unit) for line in SPAN]
    new = _splice(lines, lineno, new_lines, _newline(text))
    return Insertion("span", new, lineno, lineno + len(SPAN) - 1)


def insert(text: str, key: str) -> Insertion | None:
    """An entrypoint or a span by ``key`` (a span where the file has a function for it)."""
    if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2:
        span = insert_span(text, key)
        if span is not None:
            return span
    return insert_entrypoint(text, key)


def unexpected_changes(before: str, after: str, region: tuple[int, int], newline: str) -> list[str]:
    """Every difference between ``before`` and ``after`` that is not one the fixers make:
    module-level import lines, an ``init_tracing`` call inside ``region`` (1-based lines of
    ``before``), ``attributes=span_tags()`` on a line of ``region``. Line endings count."""
    old = split_lines(before)
    new = split_lines(after)
    first, last = region
    problems: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "insert":
            # A new import after the docstring / `from __future__` may come as its own block,
            # with a blank line (fixers/support/imports.py); a blank line comes with nothing else.
            with_import = any(ADDED_IMPORT.fullmatch(line.rstrip("\r\n")) for line in new[j1:j2])
            for line in new[j1:j2]:
                body = line[: -len(newline)] if line.endswith(newline) else None
                in_region = first < i1 + 1 <= last  # before a line of the block, not its `if`
                if body is None:
                    problems.append(f"inserted line without the file's newline: {line!r}")
                elif not (
                    ADDED_IMPORT.fullmatch(body)
                    or (ADDED_CALL.fullmatch(body) and in_region)
                    or (body == "" and with_import)
                ):
                    problems.append(f"line {i1 + 1}: unexpected inserted line {line!r}")
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            for offset, (was, now) in enumerate(zip(old[i1:i2], new[j1:j2], strict=True)):
                lineno = i1 + offset + 1
                if first <= lineno <= last and any(
                    now.replace(f, "", 1) == was for f in ADDED_FRAGMENTS
                ):
                    continue
                problems.append(f"line {lineno}: {was!r} became {now!r}")
            continue
        problems.append(f"lines {i1 + 1}-{i2}: {tag} {old[i1:i2]!r} -> {new[j1:j2]!r}")
    return problems


def fix_tree(
    tally: Tally, root: Path, regions: dict[str, tuple[int, int]], step: str = "fix"
) -> None:
    """``somatrace fix`` over ``root`` for the files of ``regions`` (path -> the 1-based lines
    of the construct to fix), with every assertion of phase 2."""
    select = ("--select", ",".join(FIXED_CODES))
    files = sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*.py") if ".git" not in p.parts
    )
    before = {rel: (root / rel).read_bytes() for rel in files}
    proc = _cli(tally, step, "fix", "--no-cache", *select, ".", cwd=root)
    if proc.returncode not in (0, 1):
        tally.failures.append(f"{root.name}: fix exited {proc.returncode}:\n{proc.stderr}")
        return
    after = {rel: (root / rel).read_bytes() for rel in files}
    for rel in files:
        if rel in regions:
            continue
        if after[rel] != before[rel]:
            tally.failures.append(f"{root.name}/{rel}: changed, though nothing was inserted there")
    fixed = 0
    for rel, region in regions.items():
        old = before[rel].decode("utf-8", "surrogatepass")
        new = after[rel].decode("utf-8", "surrogatepass")
        if old == new:
            continue
        fixed += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compile(after[rel], rel, "exec", dont_inherit=True)
        except SyntaxError as exc:
            tally.failures.append(f"{root.name}/{rel}: the fixed file does not compile: {exc}")
            continue
        for problem in unexpected_changes(old, new, region, _newline(old)):
            tally.failures.append(f"{root.name}/{rel}: {problem}")
    tally.notes[f"{step}: files changed"] += fixed
    again = _cli(tally, f"{step} again", "fix", "--no-cache", "--diff", *select, ".", cwd=root)
    if again.returncode not in (0, 1) or again.stdout:
        tally.failures.append(
            f"{root.name}: a second fix would change more (exit {again.returncode}):\n"
            f"{again.stdout[:4000]}"
        )
    records = run_check(tally, root, f"{step} re-check", *select)
    for record in records or []:
        path = str(record["path"])
        if path in regions and record["code"] in FIXED_CODES:
            line = int(record["location"]["line"])  # type: ignore[index]
            tally.failures.append(
                f"{root.name}/{path}:{line}: {record['code']} still reported after fix: "
                f"{record['message']}"
            )


def fix_real_files(
    tally: Tally,
    root: Path,
    sources: dict[str, bytes],
    targets: int,
    key: str,
) -> int:
    """Phase 2 over one tree: ``sources`` (relative path -> bytes) written into ``root``, up to
    ``targets`` of them (chosen by a hash of ``key`` and the path) given an insertion, then
    :func:`fix_tree`. Returns how many files got an insertion."""
    make_tree(root, sources)
    tally.trees += 1
    select = ("--select", ",".join(FIXED_CODES))
    # The JSON's fix edits cost a LibCST pass per finding (most of a run's time): not needed
    # here, the fix applicability still is.
    select = (*select, "--no-fix-edits")
    # Files the gate already reports are removed, until it reports none: removing one may
    # uncover another (an app factory is reported where its app is built, in the file removed).
    already: set[str] = set()
    for _ in range(10):
        baseline = run_check(tally, root, "check originals", *select)
        if baseline is None:
            return 0
        if not baseline:
            break
        for rel in {str(r["path"]) for r in baseline} - already:
            (root / rel).unlink()
            already.add(rel)
    else:
        tally.failures.append(f"{root.name}: still findings after removing {len(already)} files")
        return 0
    tally.notes["files with ST101/ST301 of their own (removed from the tree)"] += len(already)
    order = sorted(sources, key=lambda rel: hashlib.sha256(f"{key}:{rel}".encode()).hexdigest())
    regions: dict[str, tuple[int, int]] = {}
    kinds: dict[str, str] = {}
    for rel in order:
        if len(regions) >= targets:
            break
        if rel in already or not rel.endswith(".py"):
            continue
        text = _decode(sources[rel])
        if text is None or not _compiles(sources[rel]):
            tally.notes["files not utf-8 or not compiling (left out)"] += 1
            continue
        try:
            inserted = insert(text, f"{key}:{rel}")
        except (SyntaxError, RecursionError, ValueError):
            inserted = None
        if inserted is None or not _compiles(inserted.text.encode("utf-8")):
            tally.notes["no place to insert (left out)"] += 1
            continue
        (root / rel).write_bytes(inserted.text.encode("utf-8"))
        regions[rel] = (inserted.first, inserted.last)
        kinds[rel] = inserted.code
        tally.notes[f"inserted {inserted.kind}"] += 1
    tally.files += len(regions)
    reported = run_check(tally, root, "check inserted", *select)
    if reported is None:
        return len(regions)
    seen: Counter[str] = Counter()
    for record in reported:
        path, code = str(record["path"]), str(record["code"])
        tally.findings[code] += 1
        line = int(record["location"]["line"])  # type: ignore[index]
        fix = record.get("fix") or {}
        if path not in regions:
            tally.failures.append(
                f"{root.name}/{path}: new finding on a file left as it was: {record}"
            )
        elif code != kinds[path] or not regions[path][0] <= line <= regions[path][1]:
            tally.failures.append(f"{root.name}/{path}: unexpected finding {record}")
        elif fix.get("applicability") != "safe":  # type: ignore[union-attr]
            tally.failures.append(
                f"{root.name}/{path}: the inserted {code} has no safe fix: {record}"
            )
        else:
            seen[path] += 1
    for rel in regions:
        if seen[rel] != 1:
            tally.failures.append(
                f"{root.name}/{rel}: the inserted {kinds[rel]} was reported {seen[rel]} times"
            )
    fix_tree(tally, root, regions)
    return len(regions)


def python_sources(folder: Path, prefix: str) -> dict[str, bytes]:
    """Every ``.py`` file under ``folder``, keyed ``<prefix>/<relative path>``."""
    return {
        f"{prefix}/{p.relative_to(folder).as_posix()}": p.read_bytes()
        for p in sorted(folder.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def report(title: str, tally: Tally, out: Iterable[str] = ()) -> str:
    lines = [f"{title}: {tally.files} files in {tally.trees} trees", *out]
    if tally.findings:
        lines.append(
            "  findings: " + ", ".join(f"{c} {n}" for c, n in sorted(tally.findings.items()))
        )
    for reason, n in tally.st900.most_common():
        lines.append(f"  ST900 x{n}: {reason}")
    for note, n in sorted(tally.notes.items()):
        lines.append(f"  {note}: {n}")
    for step, seconds in tally.seconds.items():
        lines.append(f"  {step}: {seconds:.1f} s")
    lines.append(f"  failures: {len(tally.failures)}")
    return "\n".join(lines)


def clean(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
