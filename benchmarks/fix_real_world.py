"""Time ``somatrace fix`` over real LLM applications from PyPI (pinned wheels).

    python benchmarks/fix_real_world.py

Prints, per package: Python files, findings fixed (entrypoints), files changed, and the wall
time of the first fix run (cold cache), of a second run (nothing to do, warm cache) and of a
``--diff`` dry run on a fresh copy. Wheels are cached like the tests' (``$SOMATRACE_TEST_CACHE``).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from somatrace.checks.lint.engine import CheckSettings
from somatrace.fixers.support.session import FixOptions, run_fixes
from tests.fixers.real_world import PACKAGES, unpack, write_config


def timed_fix(root: Path, paths: list[Path], dry_run: bool = False) -> tuple[float, object]:
    started = time.perf_counter()
    report = run_fixes(paths, CheckSettings(), FixOptions(dry_run=dry_run), cwd=root)
    return time.perf_counter() - started, report


def main() -> None:
    header = (("py files", 9), ("fixed", 7), ("files", 7), ("diff s", 8), ("fix s", 8))
    print(f"{'package':<22}" + "".join(f"{h:>{w}}" for h, w in header) + f"{'again s':>9}")
    for package in PACKAGES:
        with tempfile.TemporaryDirectory() as tmp:
            root = unpack(package, Path(tmp))
            write_config(root)
            copy = Path(tmp) / "copy"
            shutil.copytree(root, copy)
            paths = [root / p for p in package.paths]
            py_files = sum(1 for _ in root.rglob("*.py"))
            diff_s, _ = timed_fix(copy, [copy / p for p in package.paths], dry_run=True)
            fix_s, report = timed_fix(root, paths)
            again_s, again = timed_fix(root, paths)
            assert again.fixed_count == 0
            print(
                f"{package.name + '==' + package.version:<22}{py_files:>9}"
                f"{report.fixed_count:>7}{len(report.changed_files):>7}"
                f"{diff_s:>8.1f}{fix_s:>8.1f}{again_s:>9.1f}"
            )


if __name__ == "__main__":
    main()
