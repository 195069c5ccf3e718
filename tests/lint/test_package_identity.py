"""A process that checks more than once (the editor server) sees the packages as they are now:
an ``__init__.py`` added between two runs makes ``from . import telemetry`` resolve, so the
entrypoint that module initialises is no longer reported."""

from __future__ import annotations

import os
from pathlib import Path

from somatrace.checks.lint.modules import forget_packages, module_identity
from tests.helpers import check_in_process, init_repo, write_pyproject

MAIN = "from fastapi import FastAPI\n\nfrom . import telemetry\n\napp = FastAPI()\n"
TELEMETRY = "from somatrace.tracing import init_tracing\n\ninit_tracing('svc')\n"


def _st101(root: Path) -> list[str]:
    result = check_in_process(root)
    return sorted(f"{f.path}:{f.line}" for f in result.findings if f.code == "ST101")


def test_an_init_file_added_between_runs_is_seen(tmp_path: Path) -> None:
    app = tmp_path / "svc" / "app"
    app.mkdir(parents=True)
    write_pyproject(tmp_path, {})
    (app / "main.py").write_text(MAIN)
    (app / "telemetry.py").write_text(TELEMETRY)
    init_repo(tmp_path)
    # Not a package: the relative import cannot resolve, so nothing proves tracing.
    assert _st101(tmp_path) == ["svc/app/main.py:5"]
    (app / "__init__.py").write_text("")
    assert _st101(tmp_path) == []
    (app / "__init__.py").unlink()
    assert _st101(tmp_path) == ["svc/app/main.py:5"]


def test_module_identity_reads_the_packages_a_file_is_in(tmp_path: Path) -> None:
    for folder in ("svc/app/obs", "svc/app/plain", "my-pkg/inner", "pkg"):
        (tmp_path / folder).mkdir(parents=True)
    for init in ("svc/app", "svc/app/obs", "my-pkg/inner", "pkg"):
        (tmp_path / init / "__init__.py").write_text("")
    (tmp_path / "__init__.py").mkdir()  # a folder named like the marker is no package
    forget_packages()
    cases = {
        "svc/app/main.py": ("app.main", "svc"),
        "svc/app/obs/setup.py": ("app.obs.setup", "svc"),
        "svc/app/obs/__init__.py": ("app.obs", "svc"),
        "svc/app/plain/tool.py": ("tool", "svc/app/plain"),  # no __init__.py: a new top
        "svc/run.py": ("run", "svc"),
        "my-pkg/inner/mod.py": ("inner.mod", "my-pkg"),  # `my-pkg` itself is no package
        "pkg/__init__.py": ("pkg", "."),
        "pkg/odd-name.py": (None, "."),  # not importable by that name
        "svc/app/notes.txt": (None, "svc/app"),
    }
    for relpath, (name, root) in cases.items():
        absolute = tmp_path / relpath
        assert module_identity(absolute) == (name, tmp_path / root), relpath
        assert module_identity(str(absolute)) == module_identity(absolute), relpath
    # A path relative to the working folder answers relative to it.
    before = os.getcwd()
    os.chdir(tmp_path / "svc")
    try:
        forget_packages()
        assert module_identity("app/obs/setup.py") == ("app.obs.setup", Path("."))
        assert module_identity("run.py") == ("run", Path("."))
    finally:
        os.chdir(before)
        forget_packages()
