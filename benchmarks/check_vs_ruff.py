"""Benchmark: ``somatrace check`` against ``ruff check --select E,F --no-cache`` on a large tree
of other people's code (the CPython standard library plus an unpacked big pure-Python wheel).

Runs are interleaved (ruff, somatrace cold, somatrace warm, repeat) so that both tools see the
same machine state, and the script prints medians and ratios:

    python benchmarks/check_vs_ruff.py                  # corpus under /tmp, 5 rounds
    python benchmarks/check_vs_ruff.py --rounds 3 --corpus /tmp/corpus

"cold" is somatrace with ``--no-cache`` (every file read, pre-filtered, parsed where needed);
"warm" is somatrace with its result cache primed by a previous run on the unchanged tree.
Ruff always runs with ``--no-cache``, as the issue asks.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path

WHEEL = "Django==5.2.8"  # ~900 Python modules, pure Python; pinned so runs compare


def build_corpus(corpus: Path) -> None:
    if (corpus / ".complete").exists():
        return
    if corpus.exists():
        shutil.rmtree(corpus)
    corpus.mkdir(parents=True)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    shutil.copytree(
        stdlib,
        corpus / "stdlib",
        ignore=shutil.ignore_patterns("site-packages", "__pycache__", "*.pyc"),
        symlinks=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, WHEEL],
            check=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(corpus / "wheel")
    (corpus / ".complete").write_text(WHEEL + "\n")


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=Path(tempfile.gettempdir()) / "somatrace-bench-corpus"
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    build_corpus(args.corpus)
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    soma = [sys.executable, "-m", "somatrace.checks.cli.main", "check", "--exit-zero", "."]
    ruff_cmd = [ruff, "check", "--isolated", "--select", "E,F", "--no-cache", "--exit-zero", "."]

    files = sum(1 for _ in args.corpus.rglob("*.py"))
    lines = sum(p.read_bytes().count(b"\n") for p in args.corpus.rglob("*.py") if p.is_file())
    print(f"corpus: {args.corpus} ({files} Python files, {lines:,} lines; stdlib + {WHEEL})")

    from somatrace.checks.api import CheckSettings, run_check

    detail = run_check([args.corpus], CheckSettings(use_cache=False))
    print(
        f"somatrace: {detail.files_checked} files checked, {detail.files_parsed} parsed, "
        f"{len(detail.findings)} findings"
    )
    timed(soma, args.corpus)  # prime the cache for the warm runs

    ruff_t, cold_t, warm_t = [], [], []
    for _ in range(args.rounds):
        ruff_t.append(timed(ruff_cmd, args.corpus))
        cold_t.append(timed([*soma, "--no-cache"], args.corpus))
        warm_t.append(timed(soma, args.corpus))
    r, c, w = (statistics.median(x) for x in (ruff_t, cold_t, warm_t))
    print(f"rounds: {args.rounds} (interleaved), medians:")
    print(f"  ruff check --select E,F --no-cache : {r:6.3f} s")
    print(f"  somatrace check (cold, --no-cache) : {c:6.3f} s   {c / r:5.2f}x ruff (target <= 2x)")
    print(f"  somatrace check (warm, cached)     : {w:6.3f} s   {w / r:5.2f}x ruff (target <= 1x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
