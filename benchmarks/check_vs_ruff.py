"""Speed of ``somatrace check`` against ``ruff check --select E,F`` on the trees users have.

    python benchmarks/fetch_corpus.py                     # once: llm-stack, llm-services, stdlib
    python benchmarks/check_vs_ruff.py                    # 5 interleaved rounds per tree
    python benchmarks/check_vs_ruff.py --rounds 1 --trees llm-stack --select ST101,ST301
    python benchmarks/check_vs_ruff.py --fixit-sample 0   # skip the Fixit comparison

Run it with the Python of the environment whose engine you measure: ``somatrace`` and ``ruff``
are taken from next to ``sys.executable`` unless ``--somatrace`` / ``--ruff`` say otherwise.
Each tree is run from its root (``benchmarks/corpus/<tree>``, which has its own git repository
and ``pyproject.toml``, see ``fetch_corpus.py``). Per round, in this order:

- ``ruff check --isolated --select E,F --no-cache --exit-zero -q .`` (``--isolated``: the
  somatrace repository's own ruff config would exclude ``benchmarks/corpus``);
- ``somatrace check --no-cache --jobs 1`` and ``--jobs 2`` (cold: every file read and screened);
- ``somatrace check`` (warm: the result cache was primed by a run before the first round and
  the tree does not change).

somatrace runs without ``PYTHONDONTWRITEBYTECODE`` (users' installs have bytecode; an editable
install under that variable would recompile its modules on every run).

Every command's wall time (``time.perf_counter`` around fork and wait), CPU time (user + sys
of the child and the processes it waited for) and peak RSS (``ru_maxrss``: the largest single
process of the child's tree, not a sum over workers) are taken from ``os.wait4`` in
``scripts/peak_rss.py``, which forks the command from a small process (forked from this one,
a child would report this one's size). The table shows the median and the spread (min-max)
over the rounds and the ratios to ruff's cold wall time. With ``SOMATRACE_PHASES=<file>`` set,
an engine that supports it writes per-phase wall seconds and file counts as JSON
(``{"phases": {...}, "files": {...}}``); they are printed per tree and configuration when
present ("phase figures not available" otherwise).

Last, Fixit 2.2.1 (``benchmarks/.venv-fixit``: ``python -m venv benchmarks/.venv-fixit &&
benchmarks/.venv-fixit/bin/pip install fixit==2.2.1``) runs ``benchmarks/fixit_rules/
otel_span_start.py`` (ST301 in its simplest form) on a seeded sample of ``llm-stack`` files,
timed against ``somatrace check --no-cache --select ST301`` on the same copied sample.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpora import BENCHMARKS, ROOT_PYPROJECT, STDLIB, load_corpora, python_files, tree_root

PHASES = ("discover", "screen", "parse", "model", "rules", "project", "report")
FIXIT_RULES = BENCHMARKS / "fixit_rules"
PEAK_RSS = BENCHMARKS.parent / "scripts" / "peak_rss.py"


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    returncode: int
    phases: dict[str, Any] | None = None
    stdout: str = ""


@dataclass
class Series:
    name: str
    runs: list[Run] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)

    def spread(self, attr: str) -> tuple[float, float]:
        values = [getattr(r, attr) for r in self.runs]
        return min(values), max(values)


# --------------------------------------------------------------------------- running
def measure(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` to completion; wall, CPU and peak RSS from ``os.wait4``."""
    phases_file = None
    if env is not None and "SOMATRACE_PHASES" in env:
        phases_file = Path(env["SOMATRACE_PHASES"])
        phases_file.unlink(missing_ok=True)
    # Through scripts/peak_rss.py: forked from this (large) process, a child's ru_maxrss would
    # start from this process's high-water mark.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryDirectory() as scratch:
        usage_file = Path(scratch) / "usage.json"
        launcher = [sys.executable, str(PEAK_RSS), str(usage_file), "--"]
        proc = subprocess.Popen(
            [*launcher, *cmd], cwd=cwd, stdout=out, stderr=subprocess.DEVNULL, env=env
        )
        proc.wait()
        usage = json.loads(usage_file.read_text())
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
    phases = None
    if phases_file is not None and phases_file.is_file():
        try:
            phases = json.loads(phases_file.read_text())
        except json.JSONDecodeError:
            phases = None
    return Run(
        wall=usage["wall_s"],
        cpu=usage["user_s"] + usage["system_s"],
        rss_mb=usage["peak_rss_kb"] / 1024,
        returncode=proc.returncode,
        phases=phases,
        stdout=stdout,
    )


def next_to_python(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


@dataclass
class Tools:
    ruff: str
    somatrace: str
    select: str | None

    def ruff_cmd(self) -> list[str]:
        flags = ["--isolated", "--select", "E,F", "--no-cache", "--exit-zero", "-q"]
        return [self.ruff, "check", *flags, "."]

    def soma_cmd(self, *extra: str) -> list[str]:
        cmd = [self.somatrace, "check", "--exit-zero", "-q", "--output-format", "concise"]
        if self.select:
            cmd += ["--select", self.select]
        return [*cmd, *extra, "."]


def check_tree(root: Path, tools: Tools) -> int:
    """Fail loudly if a tool would silently see nothing; returns ruff's file count."""
    if not (root / "pyproject.toml").is_file() or not (root / ".git").exists():
        raise SystemExit(f"{root}: not fetched (python benchmarks/fetch_corpus.py)")
    shown = subprocess.run(
        [tools.ruff, "check", "--isolated", "--select", "E,F", "--show-files", "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    count = sum(1 for line in shown.stdout.splitlines() if line.strip().endswith(".py"))
    if count == 0:
        raise SystemExit(f"{root}: ruff sees no file; check its excludes")
    return count


def bench_tree(root: Path, tools: Tools, rounds: int, phases_path: Path) -> list[Series]:
    # As installed for users: pip compiles a wheel's modules to bytecode, so a run imports
    # .pyc files. PYTHONDONTWRITEBYTECODE (set on some CI machines) would make every run of an
    # editable install recompile ~90 modules (0.09 s a run): it is dropped for somatrace, and
    # the priming run below writes the bytecode.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["SOMATRACE_PHASES"] = str(phases_path)
    configs = [
        ("ruff cold", tools.ruff_cmd(), None),
        ("somatrace cold j1", tools.soma_cmd("--no-cache", "--jobs", "1"), env),
        ("somatrace cold j2", tools.soma_cmd("--no-cache", "--jobs", "2"), env),
        ("somatrace warm", tools.soma_cmd(), env),
    ]
    shutil.rmtree(root / ".somatrace_cache", ignore_errors=True)
    prime = measure(tools.soma_cmd(), root, env)
    if prime.returncode != 0:
        raise SystemExit(f"{root}: somatrace exited {prime.returncode} (priming the cache)")
    series = [Series(name) for name, _, _ in configs]
    for _ in range(rounds):
        for s, (_, cmd, run_env) in zip(series, configs, strict=True):
            run = measure(cmd, root, run_env)
            if run.returncode != 0:
                raise SystemExit(f"{' '.join(cmd)} exited {run.returncode} in {root}")
            s.runs.append(run)
    return series


# --------------------------------------------------------------------------- printing
def spread_text(s: Series, attr: str) -> str:
    low, high = s.spread(attr)
    return f"{low:.2f}-{high:.2f}"


def print_speed(tree: str, files: int, lines: int, ruff_files: int, series: list[Series]) -> None:
    print(f"\n{tree}: {files:,} .py files, {lines:,} lines (ruff checks {ruff_files:,})")
    print(
        f"  {'command':<20}{'wall s':>8}{'(min-max)':>13}{'cpu s':>8}{'(min-max)':>13}"
        f"{'rss MB':>8}{'x ruff':>8}"
    )
    ruff_wall = series[0].median("wall")
    for s in series:
        print(
            f"  {s.name:<20}{s.median('wall'):>8.2f}{spread_text(s, 'wall'):>13}"
            f"{s.median('cpu'):>8.2f}{spread_text(s, 'cpu'):>13}{s.median('rss_mb'):>8.0f}"
            f"{s.median('wall') / ruff_wall:>8.2f}"
        )
    j1, j2, warm = (s.median("wall") for s in series[1:])
    print(
        f"  ratios: cold j1/ruff {j1 / ruff_wall:.2f}x, cold j2/ruff {j2 / ruff_wall:.2f}x, "
        f"warm/ruff {warm / ruff_wall:.2f}x, j2/j1 {j2 / j1:.2f}"
    )


def print_phases(series: list[Series]) -> None:
    somatrace = [s for s in series if s.name.startswith("somatrace")]
    with_phases = [s for s in somatrace if all(r.phases for r in s.runs)]
    if not with_phases:
        print("  phase figures not available from this engine")
        return
    keys = list(PHASES)
    for s in with_phases:
        for run in s.runs:
            keys += [k for k in (run.phases or {}).get("phases", {}) if k not in keys]
    print(f"  {'phase (median s)':<20}" + "".join(f"{s.name[10:]:>10}" for s in with_phases))
    for key in keys:
        cells = []
        for s in with_phases:
            values = [(r.phases or {}).get("phases", {}).get(key) for r in s.runs]
            present = [v for v in values if isinstance(v, int | float)]
            cells.append(f"{statistics.median(present):>10.3f}" if present else f"{'-':>10}")
        print(f"  {key:<20}" + "".join(cells))
    file_keys: list[str] = []
    for s in with_phases:
        for k in (s.runs[-1].phases or {}).get("files", {}):
            if k not in file_keys:
                file_keys.append(k)
    for key in file_keys:
        cells = [
            f"{(s.runs[-1].phases or {}).get('files', {}).get(key, '-'):>10}" for s in with_phases
        ]
        print(f"  {'files ' + key:<20}" + "".join(cells))


# --------------------------------------------------------------------------- fixit
def copy_sample(source_root: Path, count: int, seed: int, dest: Path) -> list[Path]:
    files = python_files(source_root)
    sample = sorted(random.Random(seed).sample(files, min(count, len(files))))
    for path in sample:
        target = dest / path.relative_to(source_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    (dest / "pyproject.toml").write_text(ROOT_PYPROJECT)
    return sample


def count_lines_with(text: str, needle: str) -> int:
    return sum(1 for line in text.splitlines() if needle in line)


def bench_fixit(args: argparse.Namespace, tools: Tools) -> None:
    fixit = Path(args.fixit)
    print(
        f"\nFixit 2.2.1 vs somatrace on {args.fixit_sample} files of {args.fixit_tree} "
        f"(seed {args.seed}, {args.fixit_rounds} round(s), medians)"
    )
    if not fixit.exists():
        print(f"  {fixit} not found: python -m venv benchmarks/.venv-fixit && ", end="")
        print("benchmarks/.venv-fixit/bin/pip install fixit==2.2.1")
        return
    with tempfile.TemporaryDirectory(prefix="somatrace-fixit-") as tmp:
        sample_root = Path(tmp)
        copy_sample(tree_root(args.fixit_tree), args.fixit_sample, args.seed, sample_root)
        fixit_cmd = [str(fixit), "--rules", ".otel_span_start", "lint", str(sample_root)]
        soma_cmd = [tools.somatrace, "check", "--no-cache", "--exit-zero", "--select", "ST301"]
        soma_cmd += ["--output-format", "concise", "."]
        fixit_runs, soma_runs = Series("fixit lint (1 rule)"), Series("somatrace ST301 cold")
        for _ in range(args.fixit_rounds):
            fixit_runs.runs.append(measure(fixit_cmd, FIXIT_RULES))
            soma_runs.runs.append(measure(soma_cmd, sample_root))
        fixit_found = count_lines_with(fixit_runs.runs[-1].stdout, "OtelSpanStart")
        soma_found = count_lines_with(soma_runs.runs[-1].stdout, "ST301")
        print(f"  {'command':<24}{'wall s':>8}{'cpu s':>8}{'rss MB':>8}{'findings':>10}")
        for s, found in ((fixit_runs, fixit_found), (soma_runs, soma_found)):
            print(
                f"  {s.name:<24}{s.median('wall'):>8.2f}{s.median('cpu'):>8.2f}"
                f"{s.median('rss_mb'):>8.0f}{found:>10}"
            )
        ratio = fixit_runs.median("wall") / soma_runs.median("wall")
        print(f"  fixit/somatrace wall: {ratio:.2f}x")


# --------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", default=f"llm-stack,llm-services,{STDLIB}")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--select", help="rule selection for somatrace (default: its config)")
    parser.add_argument("--somatrace", default=next_to_python("somatrace"))
    parser.add_argument("--ruff", default=next_to_python("ruff"))
    parser.add_argument("--fixit", default=str(BENCHMARKS / ".venv-fixit" / "bin" / "fixit"))
    parser.add_argument("--fixit-sample", type=int, default=200, help="0 skips Fixit")
    parser.add_argument("--fixit-rounds", type=int, default=1)
    parser.add_argument("--fixit-tree", default="llm-stack", help="where the sample comes from")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    tools = Tools(ruff=args.ruff, somatrace=args.somatrace, select=args.select)
    version = subprocess.run([tools.somatrace, "--version"], capture_output=True, text=True)
    ruff_version = subprocess.run([tools.ruff, "--version"], capture_output=True, text=True)
    print(f"{version.stdout.strip()} ({tools.somatrace}); {ruff_version.stdout.strip()}")
    print(f"selection: {args.select or 'default config'}; rounds: {args.rounds}, interleaved")
    trees = [t.strip() for t in args.trees.split(",") if t.strip()]
    known = [*load_corpora(), STDLIB]
    for tree in trees:
        if tree not in known:
            parser.error(f"unknown tree {tree!r}; known: {', '.join(known)}")
    with tempfile.TemporaryDirectory(prefix="somatrace-phases-") as tmp:
        for tree in trees:
            root = tree_root(tree)
            ruff_files = check_tree(root, tools)
            files = python_files(root)
            lines = sum(p.read_bytes().count(b"\n") for p in files)
            series = bench_tree(root, tools, args.rounds, Path(tmp) / "phases.json")
            print_speed(tree, len(files), lines, ruff_files, series)
            print_phases(series)
    if args.fixit_sample > 0:
        bench_fixit(args, tools)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
