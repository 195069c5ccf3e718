"""Every git command the gate runs, made safe for an untrusted checkout.

A checked repository can carry its own ``.git/config`` (a tarball, a CI cache, a colleague's
laptop copy): ``core.fsmonitor``, filter drivers (``filter.<name>.clean``/``process``, which
``git diff`` runs on work-tree files named in ``.gitattributes``), external diff and textconv
drivers, hooks and pagers all name programs that git would run for us. :func:`run_git` turns
each of them off:

- ``-c core.fsmonitor=false``, ``-c core.hooksPath=/dev/null``, ``-c core.pager=cat``,
  ``-c diff.external=``, ``--no-pager``; every ``filter.*.{clean,smudge,process}`` and
  ``diff.*.{textconv,command}`` the repository's config defines is overridden with an empty
  value (git then runs no program for it; read once per repository with ``git config``, which
  itself runs nothing);
- the environment: no system config (``GIT_CONFIG_NOSYSTEM``), no pager, no prompt, no
  external diff, no optional locks (a read-only check never rewrites the index), and none of
  the caller's ``GIT_DIR``/``GIT_WORK_TREE``-style redirections except ``GIT_INDEX_FILE``
  (pre-commit points it at the staged index).

Callers that diff add ``--no-ext-diff --no-textconv`` too (:data:`DIFF_FLAGS`).
"""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path

BASE_OPTIONS: tuple[str, ...] = (
    "--no-pager",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.pager=cat",
    "-c",
    "diff.external=",
    "-c",
    "core.untrackedCache=false",
    "-c",
    "protocol.allow=never",
)
DIFF_FLAGS: tuple[str, ...] = ("--no-ext-diff", "--no-textconv")

# Environment variables that make git run a program or look somewhere else than asked.
_DROPPED = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_EXTERNAL_DIFF",
    "GIT_PAGER",
    "GIT_EDITOR",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_ASKPASS",
    "GIT_EXEC_PATH",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_SYSTEM",
    "GIT_TRACE",
)
_PROGRAM_KEYS = {
    "filter": ("clean", "smudge", "process"),
    "diff": ("textconv", "command"),
    "merge": ("driver",),
}


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PAGER": "cat",
            "PAGER": "cat",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_OPTIONAL_LOCKS": "0",
            "LC_ALL": "C",
        }
    )
    return env


def _raw(directory: Path, args: list[str], options: tuple[str, ...]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", *options, "-C", str(directory), *args],
        capture_output=True,
        check=False,
        env=git_env(),
        stdin=subprocess.DEVNULL,
    )


@lru_cache(maxsize=64)
def _program_overrides(directory: str) -> tuple[str, ...]:
    """``-c key=`` for every program-naming key the repository's config sets."""
    out = _raw(Path(directory), ["config", "--name-only", "-z", "--get-regexp", "."], BASE_OPTIONS)
    if out.returncode not in (0, 1):
        return ()
    overrides: list[str] = []
    for key in out.stdout.decode("utf-8", "surrogateescape").split("\0"):
        section, _, rest = key.partition(".")
        variable = rest.rsplit(".", 1)[-1] if "." in rest else ""
        if variable.lower() in _PROGRAM_KEYS.get(section.lower(), ()):
            overrides += ["-c", f"{key}="]
    return tuple(overrides)


def forget_repository_config() -> None:
    """Read each repository's config again: every run starts with this (:class:`Engine`), so a
    long-lived process (the editor server) turns off a driver a checkout gained since its last
    run, not only the ones it had at the first."""
    _program_overrides.cache_clear()


def run_git(directory: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """``git -C directory args...`` with every repository-configured program disabled.

    Raises ``OSError`` when git is not installed; the caller decides what that means.
    """
    options = BASE_OPTIONS + _program_overrides(os.fspath(directory))
    return _raw(directory, list(args), options)
