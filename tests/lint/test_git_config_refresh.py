"""A process that checks more than once (the editor server) reads the repository's git config
afresh for each run: a filter or diff driver the checkout gains after the first run is turned
off like one it had from the start (:mod:`somatrace.checks.lint.gitsafe`), so git runs none of
its programs when ``--changed-since`` diffs the work tree."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import check_in_process, git, init_repo, write_files

DIRECT = "from traceloop.sdk import Traceloop\n\nTraceloop.init(app_name='x')\n"


def _changed(root: Path) -> list[str]:
    result = check_in_process(root, changed_since="HEAD")
    return sorted(f"{f.path}:{f.code}" for f in result.findings)


def test_a_driver_configured_between_runs_never_runs(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    root.mkdir()
    init_repo(root)
    write_files(root, {"app.py": DIRECT, ".gitattributes": "* filter=evil diff=evil\n"})
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    (root / "app.py").write_text(DIRECT + "# edited\n")
    assert _changed(root) == ["app.py:ST102"]  # the first run reads the config: no drivers
    marker = tmp_path / "ran"
    git(root, "config", "filter.evil.clean", f"touch {marker}.clean; cat")
    git(root, "config", "filter.evil.process", f"touch {marker}.process")
    git(root, "config", "diff.evil.textconv", f"touch {marker}.textconv; cat")
    (root / "app.py").write_text(DIRECT + "# edited again\n")  # stat-dirty: git would clean it
    assert _changed(root) == ["app.py:ST102"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ran")) == []
