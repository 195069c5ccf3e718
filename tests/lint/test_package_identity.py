"""A process that checks more than once (the editor server) sees the packages as they are now:
an ``__init__.py`` added between two runs makes ``from . import telemetry`` resolve, so the
entrypoint that module initialises is no longer reported."""

from __future__ import annotations

from pathlib import Path

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
