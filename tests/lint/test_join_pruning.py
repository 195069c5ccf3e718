"""The project join reads only the modules that can change a verdict: ST101 follows an
entrypoint's imports only into modules from which an import chain reaches a file that spells the
init function (by the byte scans of :mod:`somatrace.checks.lint.import_scan`), and a name that
only contains it (``self._init_tracing``) is not a spelling. The verdicts are the ones the full
walk gives (``--changed-since`` still walks everything)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import check_in_process, git, init_repo, wide_app_project, write_pyproject

WIDTH = 40  # modules the entrypoint imports that lead nowhere near the init function


def _project(root: Path, obs: str) -> Path:
    return wide_app_project(root, obs, WIDTH)


def _run(root: Path, **settings: object) -> tuple[list[str], dict[str, int]]:
    result = check_in_process(root, **settings)
    codes = sorted(f"{f.path}:{f.line}:{f.code}" for f in result.findings if f.code == "ST101")
    return codes, result.counts


INITIALISES = "from somatrace.tracing import init_tracing\n\ninit_tracing('svc')\n"
ONLY_A_METHOD = "class Exporter:\n    def go(self):\n        self._init_tracing()\n"


def test_an_initialising_import_is_found_without_reading_the_modules_that_lead_nowhere(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path / "p", INITIALISES)
    codes, counts = _run(root)
    assert codes == []  # app.obs initialises tracing when main imports it
    # Read for ST101: app/__init__.py (main imports `app`) and app/obs.py; none of the 80
    # routes/models modules.
    assert counts["join_fetched"] <= 3, counts


def test_a_name_that_only_contains_the_init_function_is_not_a_spelling(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", ONLY_A_METHOD)
    codes, counts = _run(root)
    assert codes == ["svc/app/main.py:44:ST101"]
    assert counts["join_fetched"] == 0, counts  # nothing spells `init_tracing`: nothing read


def test_pruned_and_full_walks_agree(tmp_path: Path) -> None:
    # The init function spelled in a module main does not import: the walk must still say no.
    root = _project(tmp_path / "p", ONLY_A_METHOD)
    (root / "svc" / "app" / "tools.py").write_text(INITIALISES)
    main = root / "svc" / "app" / "main.py"
    main.write_text(main.read_text() + "# edited\n")  # so that --changed-since shows main
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "tools")
    pruned, counts = _run(root)
    full, full_counts = _run(root, changed_since="HEAD~1")
    assert pruned == ["svc/app/main.py:44:ST101"]
    assert counts["join_fetched"] <= 3 < full_counts["join_fetched"], (counts, full_counts)
    assert full == pruned  # the full walk (--changed-since) gives the same verdict


def test_an_import_chain_through_packages_reaches_the_initialising_module(tmp_path: Path) -> None:
    """main imports mid, mid imports app.sub.deep, deep initialises: the ancestors of deep are
    found by resolving only the imports whose first name is on a reached file's path, and
    files no import reaches (an unscanned tree under node_modules) stay out of the walk."""
    root = tmp_path / "p"
    app = root / "svc" / "app"
    (app / "sub").mkdir(parents=True)
    write_pyproject(root, {})
    (app / "__init__.py").write_text("")
    (app / "sub" / "__init__.py").write_text("")
    (app / "sub" / "deep.py").write_text(INITIALISES)
    (app / "mid.py").write_text("from app.sub.deep import init_tracing as _ready\n")
    (app / "main.py").write_text(
        "import json\nfrom app import mid\nfrom fastapi import FastAPI\n\napp = FastAPI()\n"
    )
    (app / "lonely.py").write_text("from fastapi import FastAPI\n\napi = FastAPI()\n")
    vendored = root / "ui" / "node_modules" / "katex" / "src"
    vendored.mkdir(parents=True)
    (vendored / "extract.py").write_text("import sys\n")
    init_repo(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "project")
    codes, _ = _run(root)
    assert codes == ["svc/app/lonely.py:3:ST101"]  # main is initialised through mid and deep
