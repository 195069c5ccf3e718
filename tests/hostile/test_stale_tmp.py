"""Temporary files a killed write left behind (`.<name>.<8 chars>.somatrace-tmp`) are removed by
the next `fix` of that folder once they are old - and nothing else is: not a fresh one (a write
in progress), not a look-alike name, not a symlink of that name (nor its target outside the
repository), not a folder."""

from __future__ import annotations

import os
from pathlib import Path

from somatrace.fixers.support.write import STALE_TEMP_SECONDS, TEMP_NAME
from tests.hostile.repo_b import CANARY, HostileRepo, age

OLD = STALE_TEMP_SECONDS + 60


def test_old_temp_files_of_ours_are_removed_and_nothing_else(tmp_path: Path) -> None:
    repo = HostileRepo.build(tmp_path)
    folder = (repo.root / CANARY).parent
    stale = folder / ".main.py.k3x9q0z_.somatrace-tmp"
    fresh = folder / ".main.py.abcdefgh.somatrace-tmp"
    lookalikes = [
        folder / ".main.py.abcdefgh.somatrace-tmp.bak",
        folder / "main.py.abcdefgh.somatrace-tmp",
        folder / ".main.py.ABCDEFGH.somatrace-tmp",
        folder / ".main.py.abc.somatrace-tmp",
    ]
    linked = folder / ".main.py.zzzzzzzz.somatrace-tmp"
    a_folder = folder / ".main.py.qqqqqqqq.somatrace-tmp"
    for path in [stale, fresh, *lookalikes]:
        path.write_text("half a file\n", encoding="utf-8")
    repo.outside.write({"precious.py": "keep me\n"})
    linked.symlink_to(repo.outside.root / "precious.py")
    a_folder.mkdir()
    for path in [stale, *lookalikes, linked, a_folder]:
        age(path, OLD)
    assert all(TEMP_NAME.fullmatch(p.name) for p in (stale, fresh, linked, a_folder))
    repo.outside.arm()
    done = repo.run("fix", ".")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"removed {stale} (left by an interrupted fix)" in done.stderr
    assert not os.path.lexists(stale)
    assert fresh.exists() and all(p.exists() for p in lookalikes)
    assert linked.is_symlink() and a_folder.is_dir()
    repo.assert_canary_fixed()
    repo.outside.assert_untouched()
    # a normal fix leaves no temporary file of its own
    left = sorted(p.name for p in folder.iterdir() if p.name.endswith(".somatrace-tmp"))
    planted = [fresh, linked, a_folder, *lookalikes]
    assert left == sorted(p.name for p in planted if p.name.endswith(".somatrace-tmp"))
