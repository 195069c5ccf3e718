"""``somatrace fix`` over real LLM applications from PyPI (pinned wheels, see ``real_world.py``).

Asserts what the auto-instrumentation promise is: every changed file compiles, the gate then
reports no ST101/ST102/ST201 there, a second ``fix`` has nothing to do, and the diff touches
only the lines it must (it adds the import and the call; it removes or rewrites no other line).
"""

from __future__ import annotations

import difflib
import re
import time
from pathlib import Path

import pytest

from tests.fixers.real_world import PACKAGES, RULES, Package, unpack, write_config
from tests.helpers import run_cli

SUMMARY = re.compile(r"Fixed (\d+) findings? in (\d+) files? \((\d+) remaining\)")
ADDED = re.compile(
    r"^\s*(from somatrace\.tracing import init_tracing|init_tracing\((\"|')[\w.-]+\2\))\s*$"
)


def _sources(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*.py"))}


@pytest.mark.slow
@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: f"{p.name}-{p.version}")
def test_fix_real_application(package: Package, tmp_path: Path) -> None:
    root = unpack(package, tmp_path)
    write_config(root)
    before = _sources(root)
    select = ",".join(RULES)

    started = time.perf_counter()
    fixed = run_cli("fix", *package.paths, cwd=root)
    seconds = time.perf_counter() - started
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    match = SUMMARY.search(fixed.stdout)
    assert match, fixed.stdout
    count, files, remaining = map(int, match.groups())
    assert count >= 1 and files >= 1 and remaining == 0  # it had entrypoints to fix

    after = _sources(root)
    changed = [p for p in before if before[p] != after[p]]
    assert len(changed) == files and not set(after) - set(before)
    calls = 0
    for path in changed:
        text = after[path].decode("utf-8")
        compile(text, str(path), "exec", dont_inherit=True)
        old = before[path].decode("utf-8").splitlines()
        new = text.splitlines()
        matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            assert tag == "insert", f"{path}: changed existing lines {old[i1:i2]} -> {new[j1:j2]}"
            for line in new[j1:j2]:
                assert ADDED.match(line), f"{path}: unexpected line {line!r}"
                calls += "init_tracing(" in line
        assert text.count("from somatrace.tracing import init_tracing") == 1

    check = run_cli("check", "--select", select, *package.paths, cwd=root)
    assert check.returncode == 0, check.stdout
    again = run_cli("fix", "--diff", *package.paths, cwd=root)
    assert again.returncode == 0 and again.stdout == "", again.stdout
    print(
        f"\n{package.name}=={package.version}: {len(before)} Python files, {count} entrypoints "
        f"fixed in {files} files ({calls} init_tracing calls), {seconds:.1f} s"
    )
