"""The workers scan a file's imports only where a screen reads them; the project join has the
rest scanned, on every core and once per file content (cached with its stat), only when it will
read them: when some file spells the init function or a project file was not scanned. The
verdicts are the ones a scan of every file gives."""

from __future__ import annotations

import json
from pathlib import Path

from somatrace.checks.lint.engine import IMPORTS_FACET, facet_slot
from somatrace.rules import all_rules
from tests.helpers import check_in_process, git, wide_app_project

WIDTH = 40  # modules the entrypoint imports, each importing one more: 80 files besides main

INITIALISES = "from somatrace.tracing import init_tracing\n\ninit_tracing('svc')\n"
NOT_AN_INIT = "class Exporter:\n    def go(self):\n        self._init_tracing()\n"


def _project(root: Path, obs: str) -> Path:
    return wide_app_project(root, obs, WIDTH)


def _st101(result: object) -> list[str]:
    return sorted(f"{f.path}:{f.line}" for f in result.findings if f.code == "ST101")  # type: ignore[attr-defined]


def _cache_lines(root: Path) -> dict[str, dict[str, object]]:
    (cache_file,) = (root / ".somatrace_cache").glob("*.json")
    out = {}
    for line in cache_file.read_bytes().split(b"\n")[1:]:
        name, _, _, body = line.split(b"\t", 3)
        out[json.loads(name)] = json.loads(body)
    return out


def test_without_an_init_spelled_only_the_screened_entrypoint_is_scanned(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", NOT_AN_INIT)
    result = check_in_process(root, use_cache=True, jobs=2)
    assert _st101(result) == ["svc/app/main.py:44"]
    assert result.counts["join_import_scans"] == 0
    entries = _cache_lines(root)
    scanned = sorted(name for name, body in entries.items() if "imports" in body)
    assert scanned == ["svc/app/main.py"]  # ST101's screen read its imports (it builds an app)
    assert not [name for name in entries if name.startswith(facet_slot(IMPORTS_FACET, ""))]


def test_with_an_init_spelled_every_file_is_scanned_once(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", INITIALISES)
    cold = check_in_process(root, jobs=0)
    assert _st101(cold) == []  # main imports app.obs, which initialises tracing
    # every scanned file but main (scanned by the screen): __init__, obs, 40 routes, 40 models
    assert cold.counts["join_import_scans"] == 2 + 2 * WIDTH

    primed = check_in_process(root, use_cache=True, jobs=0)
    assert _st101(primed) == [] and primed.counts["join_import_scans"] == 2 + 2 * WIDTH
    main = root / "svc" / "app" / "main.py"
    main.write_text(main.read_text() + "# edited\n")  # the join runs again, on cached results
    warm = check_in_process(root, use_cache=True, jobs=0)
    assert _st101(warm) == []
    assert warm.counts["join_import_scans"] == 0  # each scan comes from the cache

    (root / "svc" / "app" / "routes0.py").write_text("from app import models0\nROUTE = 'x'\n")
    edited = check_in_process(root, use_cache=True, jobs=0)
    # routes0 is scanned as it is analysed: the cached obs.py, which spells the init function,
    # told the analysis the join will read the scans
    assert _st101(edited) == [] and edited.counts["join_import_scans"] == 0


def test_workers_scan_imports_once_a_file_spelling_the_init_came_back(tmp_path: Path) -> None:
    """In parallel, the files analysed after obs.py's result came back are scanned by the
    workers (how many depends on timing); the join scans the rest, and the verdict holds."""
    root = _project(tmp_path / "p", INITIALISES)
    parallel = check_in_process(root, jobs=2)
    assert _st101(parallel) == []
    assert parallel.counts["join_import_scans"] <= 2 + 2 * WIDTH


def test_a_worker_scans_every_file_while_the_flag_is_set(tmp_path: Path) -> None:
    from somatrace.checks.lint import engine

    root = _project(tmp_path / "p", NOT_AN_INIT)
    model = root / "svc" / "app" / "models0.py"
    checker = engine.Engine(engine.CheckSettings(), all_rules(), root)  # registers the rules
    config = checker.config_for(checker.resolver.for_path(model))
    task = engine._Task(
        path=str(model),
        relpath="svc/app/models0.py",
        config=config,
        codes=("ST101",),
        known_digest=None,
        hashed=False,
        init_names=(b"init_tracing",),
    )
    flag = engine._imports_wanted()
    assert "imports" not in engine._run_task(task)["result"]  # no screen asked for them
    flag.value = 1
    try:
        assert engine._run_task(task)["result"]["imports"] == "json"
    finally:
        engine._imports_wanted()  # cleared for whatever runs next in this process


def test_scans_made_in_this_process_give_the_same_verdicts(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", NOT_AN_INIT)
    (root / "svc" / "app" / "tools.py").write_text(INITIALISES)  # spelled, imported by nothing
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "tools")
    serial = check_in_process(root, jobs=0)
    parallel = check_in_process(root, jobs=2)
    assert _st101(serial) == _st101(parallel) == ["svc/app/main.py:44"]
    # in parallel, the workers scan what they analyse after tools.py's result came back
    assert serial.counts["join_import_scans"] >= parallel.counts["join_import_scans"]
    assert serial.counts["join_import_scans"] > 0
