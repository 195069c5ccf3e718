"""A tracked symlink that points out of the checkout: `fix` never writes through it, `check`
never reads through it (ST900 "points outside the project"), and the canaries beside it are
still checked and fixed. A link whose target is inside the tree keeps working."""

from __future__ import annotations

from pathlib import Path

from tests.hostile.repo_b import CANARY, UNTRACED_APP, HostileRepo

LINKED = "services/a/app/main.py"
OUTSIDE_MESSAGE = "it is a symlink that points outside the project"


def _repo_with_link_out(tmp_path: Path) -> HostileRepo:
    repo = HostileRepo.build(tmp_path)
    repo.outside.write({"main.py": UNTRACED_APP, "svc/app/main.py": UNTRACED_APP})
    repo.link(LINKED, repo.outside.root / "main.py")
    repo.commit()
    repo.outside.arm()
    return repo


def _st900_for(findings: list[dict], path: str) -> list[dict]:
    return [f for f in findings if f["path"] == path and f["code"] == "ST900"]


def test_check_reports_a_link_out_of_the_tree_and_does_not_read_it(tmp_path: Path) -> None:
    repo = _repo_with_link_out(tmp_path)
    findings = repo.findings(".")
    (found,) = _st900_for(findings, LINKED)
    assert OUTSIDE_MESSAGE in found["message"]
    assert not [f for f in findings if f["path"] == LINKED and f["code"] != "ST900"]
    repo.assert_canary_reported(findings)
    repo.outside.assert_untouched()


def test_fix_does_not_write_through_a_link_out_of_the_tree(tmp_path: Path) -> None:
    repo = _repo_with_link_out(tmp_path)
    done = repo.run("fix", ".")
    assert done.returncode == 1, done.stdout + done.stderr  # the ST900 remains
    assert f"{LINKED}:1:1: ST900 cannot check this file: {OUTSIDE_MESSAGE}" in done.stdout
    assert (repo.root / LINKED).is_symlink()
    repo.assert_canary_fixed()
    repo.outside.assert_untouched()


def test_fix_of_a_file_named_through_a_linked_folder_writes_nothing(tmp_path: Path) -> None:
    """pre-commit and editors pass file names: a file reached through a folder that is a
    symlink out of the tree is refused the same way."""
    repo = _repo_with_link_out(tmp_path)
    repo.link("services/b", repo.outside.root / "svc")
    named = "services/b/app/main.py"
    repo.outside.arm()
    done = repo.run("fix", named, CANARY)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{named}:1:1: ST900 cannot check this file: {OUTSIDE_MESSAGE}" in done.stdout
    repo.assert_canary_fixed()
    repo.outside.assert_untouched()
    diff = repo.run("fix", "--diff", named)
    assert diff.stdout == "" and diff.returncode == 0, diff.stdout + diff.stderr
    repo.outside.assert_untouched()


def test_a_link_out_of_the_tree_is_not_read_for_the_project_join(tmp_path: Path) -> None:
    """The canary imports a module that is a link out of the tree: the import graph of ST101
    does not read it (it cannot count as initialising tracing)."""
    repo = HostileRepo.build(
        tmp_path,
        files={
            "services/canary/app/__init__.py": "",
            CANARY: "from fastapi import FastAPI\nfrom app import boot\n\napp = FastAPI()\n",
        },
    )
    repo.outside.write(
        {"boot.py": 'from somatrace.tracing import init_tracing\n\ninit_tracing("x")\n'}
    )
    repo.link("services/canary/app/boot.py", repo.outside.root / "boot.py")
    repo.commit()
    repo.outside.arm()
    findings = repo.findings(".")
    assert _st900_for(findings, "services/canary/app/boot.py")
    assert any(f["path"] == CANARY and f["code"] == "ST101" for f in findings), findings
    repo.outside.assert_untouched()


def test_a_link_inside_the_tree_is_still_fixed_through_the_link(tmp_path: Path) -> None:
    repo = HostileRepo.build(tmp_path, files={"shared/app_impl.py": UNTRACED_APP})
    link = repo.link(LINKED, repo.root / "shared/app_impl.py")
    repo.commit()
    repo.outside.arm()
    done = repo.run("fix", ".")
    assert done.returncode == 0, done.stdout + done.stderr
    assert link.is_symlink()
    assert 'init_tracing("a")' in repo.read("shared/app_impl.py")
    repo.assert_canary_fixed()
    repo.outside.assert_untouched()
