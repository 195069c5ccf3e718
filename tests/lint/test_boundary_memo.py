"""The run-wide :class:`Boundary` gives the answers of the one-off functions it memoises.

It resolves a folder from its parent's resolution (and one ``lstat``), so a link anywhere in
the chain — a folder link, a relative link, a link to outside, a link to a link — must still
be seen. A real tree on disk, compared path by path with :func:`project_root` +
:func:`inside` (which resolve every path from scratch with ``os.path.realpath``)."""

from __future__ import annotations

import os
from pathlib import Path

from somatrace.checks.lint.boundary import Boundary, inside, project_root


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    repo = tmp_path / "repo"
    outside = tmp_path / "elsewhere"
    (repo / ".git").mkdir(parents=True)
    (repo / "pkg" / "deep" / "er").mkdir(parents=True)
    (repo / "nested" / ".git").mkdir(parents=True)  # a work tree inside the work tree
    (repo / "nested" / "src").mkdir()
    (outside / "secret").mkdir(parents=True)
    for folder in (repo / "pkg", repo / "pkg" / "deep" / "er", repo / "nested" / "src", outside):
        (folder / "a.py").write_text("x = 1\n")
    (outside / "secret" / "b.py").write_text("y = 2\n")
    os.symlink(outside, repo / "pkg" / "out")  # folder link leaving the project
    os.symlink("deep", repo / "pkg" / "rel")  # relative folder link staying inside
    os.symlink(repo / "pkg" / "rel", repo / "pkg" / "chain")  # a link to a link
    os.symlink(outside / "a.py", repo / "pkg" / "deep" / "leak.py")  # file link outside
    os.symlink("../a.py", repo / "pkg" / "deep" / "er" / "up.py")  # file link inside
    os.symlink(repo / "nested", repo / "pkg" / "into_nested")  # into the other work tree
    return repo, outside


def _paths(repo: Path) -> list[str]:
    pkg = repo / "pkg"
    return [
        str(p)
        for p in (
            pkg / "a.py",
            pkg / "deep" / "er" / "a.py",
            pkg / "deep" / "er" / "up.py",
            pkg / "deep" / "leak.py",
            pkg / "out" / "a.py",
            pkg / "out" / "secret" / "b.py",
            pkg / "rel" / "er" / "a.py",
            pkg / "chain" / "er" / "up.py",
            pkg / "chain" / "leak.py",
            pkg / "into_nested" / "src" / "a.py",
            repo / "nested" / "src" / "a.py",
            pkg / "missing" / "c.py",
        )
    ]


def test_boundary_agrees_with_resolving_every_path(tmp_path: Path) -> None:
    repo, _ = _tree(tmp_path)
    boundary = Boundary(repo)
    answers = {}
    for path in _paths(repo):
        expected = inside(path, project_root(path, repo))
        assert boundary.contains(path) is expected, path
        assert boundary.root_of(path) == os.path.realpath(project_root(path, repo)), path
        assert boundary.real_path(path) == os.path.realpath(path), path
        assert boundary.holds(path) is (expected and os.path.lexists(path)), path
        answers[os.path.relpath(path, repo)] = expected
    # the tree is a real test of it: some paths are in, some are out
    assert answers["pkg/out/a.py"] is False
    assert answers["pkg/deep/leak.py"] is False
    assert answers["pkg/chain/leak.py"] is False
    assert answers["pkg/chain/er/up.py"] is True
    assert answers["pkg/rel/er/a.py"] is True
    # lexically in the outer tree, really in the nested one, whose root is the outer's child
    assert answers["pkg/into_nested/src/a.py"] is True
    assert answers["nested/src/a.py"] is True
    assert answers["pkg/missing/c.py"] is True and not boundary.holds(repo / "pkg/missing/c.py")


def test_a_checkout_reached_through_a_link_is_inside(tmp_path: Path) -> None:
    repo, _ = _tree(tmp_path)
    alias = tmp_path / "alias"
    os.symlink(repo, alias)
    boundary = Boundary(alias)
    assert boundary.contains(str(alias / "pkg" / "a.py"))
    assert boundary.contains(str(alias / "pkg" / "rel" / "er" / "a.py"))
    assert not boundary.contains(str(alias / "pkg" / "out" / "a.py"))


def test_outside_a_work_tree_the_config_root_decides(tmp_path: Path) -> None:
    top = tmp_path / "plain"
    (top / "cfg" / "src").mkdir(parents=True)
    (top / "cfg" / "src" / "m.py").write_text("")
    other = tmp_path / "other"
    other.mkdir()
    os.symlink(top / "cfg" / "src" / "m.py", other / "m.py")
    boundary = Boundary(top)
    path = str(other / "m.py")  # not under the run's root: the config's root governs it
    assert boundary.contains(path, other) is inside(path, project_root(path, top, other))
    assert boundary.contains(path, other) is False
    assert boundary.contains(str(top / "cfg" / "src" / "m.py"), top / "cfg") is True
