"""ST101 and what pytest collects: an app built in a test file is a test app, so the rule does
not parse test files at all, and a test that mounts the real app (a harness around it) does not
make the real app a sub-app of someone else's process."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import check_in_process, init_repo, write_files, write_pyproject

APP = """
from fastapi import FastAPI

app = FastAPI()
"""
HARNESS = """
from fastapi import FastAPI
from svc.app.main import app

outer = FastAPI()
outer.mount("/api", app)


def test_root():
    assert outer is not None
"""
TEST_SERVER = """
import uvicorn
from fastapi import FastAPI

app = FastAPI()

if __name__ == "__main__":
    uvicorn.run(app)
"""


def _project(root: Path, files: dict[str, str]) -> None:
    write_pyproject(root, {})
    write_files(root, {"svc/__init__.py": "", "svc/app/__init__.py": "", **files})
    init_repo(root)


def test_a_test_that_mounts_the_app_leaves_it_an_entrypoint(tmp_path: Path) -> None:
    _project(tmp_path, {"svc/app/main.py": APP, "tests/test_api.py": HARNESS})
    result = check_in_process(tmp_path)
    assert [(f.path, f.line, f.code) for f in result.findings] == [("svc/app/main.py", 3, "ST101")]
    # The test file was not parsed: no rule but ST101 could apply to it.
    assert result.counts["parsed"] == 1


def test_test_files_are_not_parsed_for_st101(tmp_path: Path) -> None:
    tests = {
        "tests/helpers/server.py": TEST_SERVER,  # under tests/
        "svc/test_server.py": TEST_SERVER,
        "svc/server_test.py": TEST_SERVER,
        "conftest.py": TEST_SERVER,
    }
    _project(tmp_path, tests)
    result = check_in_process(tmp_path)
    assert result.findings == []
    assert result.counts["parsed"] == 0
    # The same program outside a test path is an entrypoint, and is parsed.
    write_files(tmp_path, {"svc/server.py": TEST_SERVER})
    result = check_in_process(tmp_path)
    assert [(f.path, f.code) for f in result.findings] == [("svc/server.py", "ST101")]
    assert result.counts["parsed"] == 1
