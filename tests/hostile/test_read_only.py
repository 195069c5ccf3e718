"""A read-only file (mode 0444) is not replaced by `fix` (the atomic rename would replace it
even though it cannot be written): the fix is refused with a clear message unless `--force`,
which writes it and keeps its mode. The other files of the run are still fixed."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.hostile.repo_b import CANARY, UNTRACED_APP, HostileRepo

LOCKED = "services/locked/app/main.py"
REFUSAL = f"{LOCKED}: not written: the file is read-only (run with --force to fix it anyway)"


def _repo(tmp_path: Path) -> HostileRepo:
    repo = HostileRepo.build(tmp_path, files={LOCKED: UNTRACED_APP})
    repo.commit()
    (repo.root / LOCKED).chmod(0o444)
    repo.outside.arm()
    return repo


def test_fix_refuses_a_read_only_file(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    locked = repo.root / LOCKED
    before = locked.stat()
    done = repo.run("fix", ".")
    assert done.returncode == 1, done.stdout + done.stderr
    assert REFUSAL in done.stderr
    assert f"{LOCKED}:3:7: ST101" in done.stdout and "[not fixed: the file is read-only" in (
        done.stdout
    )
    after = locked.stat()
    assert locked.read_text(encoding="utf-8") == UNTRACED_APP
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert stat.S_IMODE(after.st_mode) == 0o444
    assert [p.name for p in locked.parent.iterdir()] == ["main.py"]  # no temp file left
    repo.assert_canary_fixed()
    repo.outside.assert_untouched()


def test_diff_still_shows_the_fix_of_a_read_only_file(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    done = repo.run("fix", "--diff", ".")
    assert done.returncode == 1
    assert f"+++ b/{LOCKED}" in done.stdout and f"+++ b/{CANARY}" in done.stdout
    assert repo.read(LOCKED) == UNTRACED_APP and repo.read(CANARY) == UNTRACED_APP


def test_force_writes_a_read_only_file_and_keeps_its_mode(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    done = repo.run("fix", "--force", ".")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "read-only" not in done.stderr
    assert 'init_tracing("locked")' in repo.read(LOCKED)
    assert stat.S_IMODE((repo.root / LOCKED).stat().st_mode) == 0o444
    repo.assert_canary_fixed()
    repo.outside.assert_untouched()
