"""The project boundary: where a path *really* is, and whether that is inside the project.

A checkout is untrusted input. A tracked file or folder may be a symlink to anywhere (``/etc``,
the user's home, another repository), so every read for a rule and every write of a fix asks
this module first:

- :func:`project_root` is the top of the git work tree holding the path (the nearest folder
  with a ``.git`` entry, found lexically, i.e. without following links); outside a work tree
  it is the run's root (the working directory) when the path is under it, else the root of the
  config that governs the path;
- :func:`inside` is true when the path's real location (every symlink resolved) is that root
  or below it. The root is resolved too, so a checkout reached through a symlink still works.

:class:`Boundary` memoises both per folder: a run resolves each folder once and costs one
``lstat`` per file on top of the ``stat`` it makes anyway.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

OUTSIDE_REASON = "it is a symlink that points outside the project"
_UNSEEN: object = object()


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(path)


def inside(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """Whether ``path``'s real location is ``root`` (resolved) or below it."""
    return _under(real(path), real(root))


def project_root(
    path: str | os.PathLike[str],
    fallback: str | os.PathLike[str],
    config_root: str | os.PathLike[str] | None = None,
) -> Path:
    """The top of the git work tree that lexically holds ``path``; else ``fallback`` when
    ``path`` is under it, else ``config_root`` (or ``fallback`` when none is given)."""
    start = current = os.path.abspath(path)
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            return Path(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    base = os.path.abspath(fallback)
    if config_root is not None and not _under(start, base):
        return Path(os.path.abspath(config_root))
    return Path(base)


def within_project(path: str | os.PathLike[str], fallback: str | os.PathLike[str]) -> bool:
    """Whether ``path`` really lies inside the project that lexically holds it (one-off
    callers; a whole run uses :class:`Boundary`)."""
    return inside(path, project_root(path, fallback))


class Boundary:
    """Memoised :func:`project_root` / :func:`inside` for one run: each folder is resolved
    once, from its parent's resolution and one ``lstat`` of its own (is it a link?), so a
    tree of *n* folders costs *n* ``lstat`` calls, not one per path component of each; a file
    then costs one ``lstat`` more, once a run."""

    def __init__(self, fallback: str | os.PathLike[str]) -> None:
        self.fallback = os.path.abspath(fallback)
        # folder (lexical) -> (folder resolved, project root resolved), per config root given
        self._dirs: dict[tuple[str, str | None], tuple[str, str]] = {}
        self._real: dict[str, str] = {}  # absolute, normalised folder -> realpath
        self._git_top: dict[str, str | None] = {}  # folder -> nearest folder with .git
        # file (in its resolved folder) -> is it a link (None: it does not exist). A run asks
        # of each Python file twice, once as a candidate and once for the import index.
        self._links: dict[str, bool | None] = {}

    def _real_folder(self, folder: str) -> str:
        found = self._real.get(folder)
        if found is None:
            parent, name = os.path.split(folder)
            if not name or parent == folder:
                found = real(folder)
            else:
                # realpath(parent/name) is realpath(parent)/name unless name is itself a link
                joined = os.path.join(self._real_folder(parent), name)
                found = real(joined) if os.path.islink(joined) else joined
            self._real[folder] = found
        return found

    def _work_tree(self, folder: str) -> str | None:
        """:func:`project_root`'s lexical walk, memoised per folder."""
        if folder in self._git_top:
            return self._git_top[folder]
        if os.path.lexists(os.path.join(folder, ".git")):
            found: str | None = folder
        else:
            parent = os.path.dirname(folder)
            found = None if parent == folder else self._work_tree(parent)
        self._git_top[folder] = found
        return found

    def _project_root(self, folder: str, config_root: str | os.PathLike[str] | None) -> str:
        top = self._work_tree(folder)
        if top is not None:
            return top
        if config_root is not None and not _under(folder, self.fallback):
            return os.path.abspath(config_root)
        return self.fallback

    def _folder(self, folder: str, config_root: str | os.PathLike[str] | None) -> tuple[str, str]:
        key = (folder, None if config_root is None else os.fspath(config_root))
        found = self._dirs.get(key)
        if found is None:
            top = os.path.normpath(self._project_root(folder, config_root))
            found = (self._real_folder(folder), self._real_folder(top))
            self._dirs[key] = found
        return found

    @staticmethod
    def _split(path: str | os.PathLike[str]) -> tuple[str, str]:
        text = os.fspath(path)
        if not os.path.isabs(text) or "/." in text or "//" in text:
            text = os.path.abspath(text)
        return os.path.split(text)

    def root_of(
        self, path: str | os.PathLike[str], config_root: str | os.PathLike[str] | None = None
    ) -> str:
        """The resolved root of the project that lexically holds ``path``."""
        return self._folder(self._split(path)[0], config_root)[1]

    def real_path(self, path: str | os.PathLike[str]) -> str:
        folder, name = self._split(path)
        joined = os.path.join(self._folder(folder, None)[0], name)
        return real(joined) if os.path.islink(joined) else joined

    def contains(
        self, path: str | os.PathLike[str], config_root: str | os.PathLike[str] | None = None
    ) -> bool:
        """Whether ``path`` really lies inside the project that lexically holds it."""
        return self._inside(path, config_root, must_exist=False)

    def holds(
        self, path: str | os.PathLike[str], config_root: str | os.PathLike[str] | None = None
    ) -> bool:
        """Whether ``path`` exists and :meth:`contains` holds for it, with the one ``lstat``."""
        return self._inside(path, config_root, must_exist=True)

    def _inside(
        self,
        path: str | os.PathLike[str],
        config_root: str | os.PathLike[str] | None,
        *,
        must_exist: bool,
    ) -> bool:
        folder, name = self._split(path)
        real_folder, top = self._folder(folder, config_root)
        joined = os.path.join(real_folder, name)
        is_link = self._links.get(joined, _UNSEEN)
        if is_link is _UNSEEN:
            try:
                is_link = self._links[joined] = stat.S_ISLNK(os.lstat(joined).st_mode)
            except OSError:
                is_link = self._links[joined] = None
        if is_link is None:
            if must_exist:
                return False
            is_link = False
        return _under(real(joined) if is_link else joined, top)
