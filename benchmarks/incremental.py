"""What a developer waits for on a big tree: the pre-commit-sized check, a check after one edit,
and ``fix`` of one new entrypoint, all warm, on a fetched corpus (``fetch_corpus.py``).

    python benchmarks/incremental.py                  # llm-stack, 3 rounds
    python benchmarks/incremental.py --tree llm-services --rounds 5

Per round, on ``benchmarks/corpus/<tree>`` with a primed cache:

- ``check`` of 5 files (every 1,300th ``.py`` file in sorted order: a pre-commit hook's share);
- ``check .`` after appending a comment to one file (the cache holds every other file);
- ``fix`` of one file that a FastAPI app served by ``uvicorn.run`` under ``__main__`` was just
  written to (ST101 reports it; the fix inserts ``init_tracing``), after the cache was primed
  with it present.

Wall time and peak RSS come from ``scripts/peak_rss.py`` (``os.wait4`` in a small launcher).
Every file the script touches is restored (or removed) before it exits.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from corpora import BENCHMARKS, python_files, tree_root

PEAK_RSS = BENCHMARKS.parent / "scripts" / "peak_rss.py"
ENTRYPOINT = (
    "from fastapi import FastAPI\nimport uvicorn\n\napp = FastAPI()\n\n"
    'if __name__ == "__main__":\n    uvicorn.run(app)\n'
)


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and exit code of ``cmd``."""
    with tempfile.TemporaryDirectory() as scratch:
        usage = Path(scratch) / "usage.json"
        done = subprocess.run(
            [sys.executable, str(PEAK_RSS), str(usage), "--", *cmd],
            cwd=cwd, capture_output=True, check=False,
        )  # fmt: skip
        figures = json.loads(usage.read_text())
    return figures["wall_s"], figures["peak_rss_kb"] / 1024, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", default="llm-stack")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--somatrace", default=str(Path(sys.executable).with_name("somatrace")))
    args = parser.parse_args()
    root = tree_root(args.tree)
    files = sorted(python_files(root))
    if not files:
        print(f"{root}: no files; run benchmarks/fetch_corpus.py {args.tree}", file=sys.stderr)
        return 2
    five = [str(p.relative_to(root)) for p in files[7::1300][:5]]
    edited = files[len(files) // 2]
    original = edited.read_bytes()
    entry = files[0].parent / "somatrace_bench_entry.py"
    check = [args.somatrace, "check", "-q", "--exit-zero"]
    rows: dict[str, list[tuple[float, float]]] = {"5 files": [], "1 edited": [], "fix 1": []}
    try:
        for _ in range(args.rounds):
            timed([*check, "."], root)  # prime
            wall, rss, _ = timed([*check, *five], root)
            rows["5 files"].append((wall, rss))
            edited.write_bytes(original + b"\n# edited by benchmarks/incremental.py\n")
            wall, rss, _ = timed([*check, "."], root)
            rows["1 edited"].append((wall, rss))
            edited.write_bytes(original)
            entry.write_text(ENTRYPOINT)
            timed([*check, "."], root)  # prime with the entrypoint present
            wall, rss, code = timed([args.somatrace, "fix", str(entry.relative_to(root))], root)
            if "init_tracing(" not in entry.read_text() or code != 0:
                print("fix did not insert init_tracing", file=sys.stderr)
                return 1
            rows["fix 1"].append((wall, rss))
            entry.unlink()
    finally:
        edited.write_bytes(original)
        entry.unlink(missing_ok=True)
    print(f"{args.tree}: {len(files):,} .py files, {args.rounds} rounds, warm")
    print(f"  {'run':<10} {'wall s':>8} {'(min-max)':>12} {'rss MB':>7}")
    for name, values in rows.items():
        walls = [w for w, _ in values]
        print(
            f"  {name:<10} {statistics.median(walls):>8.2f} "
            f"{min(walls):>5.2f}-{max(walls):<6.2f} {max(r for _, r in values):>7.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
