"""A hostile `.somatrace_cache`: a committed symlink to a folder outside the repository must
not make a read-only `check` delete or write anything there (it once removed 13 of 20 `*.json`
files in the link's target); the run goes on without a cache and says so once. Inside a real
cache folder, pruning removes only the result files the cache wrote."""

from __future__ import annotations

import json
import os
from pathlib import Path

from somatrace.checks.lint.cache import CACHE_DIR, FORMAT_MARKER, MAX_CACHE_FILES
from tests.hostile.repo_b import CANARY, HostileRepo, age

HEX20 = "0123456789abcdef0123"
REFUSED = "is a symlink; it is not followed; checking without a cache"


def _twenty_json_files() -> dict[str, str]:
    """What a victim folder may hold: some files even named and shaped like cache files."""
    files = {f"{i:020x}.json": json.dumps({"version": "0", "files": {}}) for i in range(10)}
    files.update({f"data-{i}.json": json.dumps({"keep": i}) for i in range(10)})
    return files


def test_a_symlinked_cache_folder_is_not_used(tmp_path: Path) -> None:
    repo = HostileRepo.build(tmp_path)
    repo.outside.write({f"victim/{n}": body for n, body in _twenty_json_files().items()})
    repo.link(CACHE_DIR, repo.outside.root / "victim")
    repo.commit()
    repo.outside.arm()
    # One run used to prune the target to the 8 newest *.json; two settings, two cache files.
    for select in ("ST", "ST1"):
        done = repo.run("check", "--select", select, ".")
        assert done.returncode in (0, 1), done.stdout + done.stderr
        assert done.stderr.count(REFUSED) == 1, done.stderr
    done = repo.run("check", "--output-format", "json", ".")
    assert done.returncode == 1
    repo.assert_canary_reported(json.loads(done.stdout))
    assert (repo.root / CACHE_DIR).is_symlink()
    repo.outside.assert_untouched()
    fixed = repo.run("fix", ".")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    repo.assert_canary_fixed()
    repo.outside.assert_untouched()


def test_a_cache_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    repo = HostileRepo.build(tmp_path, files={CACHE_DIR: "not a folder\n"})
    repo.commit()
    done = repo.run("check", ".")
    assert done.returncode == 1
    assert f"the cache folder {repo.root / CACHE_DIR} is not a folder" in done.stderr
    assert CANARY in done.stdout
    assert repo.read(CACHE_DIR) == "not a folder\n"


def test_pruning_touches_only_what_the_cache_wrote(tmp_path: Path) -> None:
    repo = HostileRepo.build(tmp_path)
    cache = repo.root / CACHE_DIR
    cache.mkdir()
    foreign = {
        "notes.json": '{"mine": true}\n',  # not our name
        f"{HEX20}.json": '{"other": "format"}\n',  # our name, not our format
        "README": "hands off\n",
    }
    for name, body in foreign.items():
        (cache / name).write_text(body, encoding="utf-8")
    repo.outside.write({"secret.json": '{"version": "planted"}\n', "made-by-us": "x\n"})
    # A link named like a cache file, and dangling marker links that would create files outside.
    os.symlink(repo.outside.root / "secret.json", cache / "abcdefabcdefabcdef01.json")
    os.symlink(repo.outside.root / "created-by-somatrace", cache / ".gitignore")
    # Result files of earlier runs (our name and format), older than anything written now.
    stale = [f"{i:020x}.json" for i in range(1, MAX_CACHE_FILES + 2)]
    for n, name in enumerate(stale):
        (cache / name).write_bytes(FORMAT_MARKER + b'"version":"old","files":{}}')
        age(cache / name, 3600 + n)
    repo.commit()
    repo.outside.arm()
    done = repo.run("check", ".")
    assert done.returncode == 1 and CANARY in done.stdout
    assert "checking without a cache" not in done.stderr
    ours = sorted(
        p.name
        for p in cache.iterdir()
        if len(p.name) == 25 and p.name.endswith(".json") and not p.is_symlink()
        and p.name != f"{HEX20}.json"
    )  # fmt: skip
    assert len(ours) == MAX_CACHE_FILES, ours  # pruned, but only among its own files
    assert set(stale[: MAX_CACHE_FILES - 1]) <= set(ours)  # the newest old ones are kept
    for name, body in foreign.items():
        assert (cache / name).read_text(encoding="utf-8") == body
    assert (cache / "abcdefabcdefabcdef01.json").is_symlink()
    assert (cache / ".gitignore").is_symlink()
    assert not (repo.outside.root / "created-by-somatrace").exists()
    repo.outside.assert_untouched()
    # The cache still works: an unchanged tree is answered from it the second time.
    repo.run("check", ".")
    phases = tmp_path / "phases.json"
    again = repo.run("check", ".", env={"SOMATRACE_PHASES": str(phases)})
    assert again.returncode == 1 and CANARY in again.stdout
    counts = json.loads(phases.read_text(encoding="utf-8"))["files"]
    assert counts["cached"] == counts["discovered"] > 0, counts
