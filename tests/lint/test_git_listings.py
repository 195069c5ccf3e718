"""Discovery and the import index share git's listing of a folder within a run: the index
built from discovery's listing is the one a fresh listing gives, untracked and ignored files
treated the same, and a run lists afresh."""

from __future__ import annotations

from pathlib import Path

from somatrace.checks.lint.config import ConfigResolver
from somatrace.checks.lint.discovery import Listings, discover, project_files
from somatrace.checks.lint.engine import CheckSettings, Engine
from somatrace.rules import all_rules
from tests.helpers import commit_tree, init_repo, write_files


def _project(root: Path) -> None:
    init_repo(root)
    write_files(
        root,
        {
            ".gitignore": "build/\n",
            "app/__init__.py": "",
            "app/main.py": "from app import util\n",
            "app/util.py": "X = 1\n",
            "build/gen.py": "Y = 2\n",  # ignored: neither checked nor importable from git
            "README.md": "demo\n",
        },
    )
    commit_tree(root)
    write_files(root, {"app/new.py": "Z = 3\n"})  # untracked: checked and importable


def test_the_index_from_discoverys_listing_is_a_fresh_listing(tmp_path: Path) -> None:
    _project(tmp_path)
    listings: Listings = {}
    found = discover([tmp_path], ConfigResolver(fallback_root=tmp_path), (), frozenset(), listings)
    assert str(tmp_path.resolve()) in listings
    shared = project_files(tmp_path.resolve(), listings)
    assert sorted(shared) == sorted(project_files(tmp_path.resolve()))
    assert sorted(Path(p).relative_to(tmp_path.resolve()).as_posix() for p in shared) == [
        "app/__init__.py",
        "app/main.py",
        "app/new.py",
        "app/util.py",
    ]
    assert sorted(c.relpath for c in found) == [
        "app/__init__.py",
        "app/main.py",
        "app/new.py",
        "app/util.py",
    ]


def test_each_run_of_one_engine_lists_the_folder_again(tmp_path: Path) -> None:
    _project(tmp_path)
    engine = Engine(CheckSettings(use_cache=False, jobs=0), all_rules(), tmp_path)
    first = engine.run([tmp_path])
    write_files(tmp_path, {"app/later.py": "W = 4\n"})
    second = engine.run([tmp_path])
    assert second.files_checked == first.files_checked + 1
