"""YAML bombs: nested `<<:` merges and alias "billion laughs" are refused with the bound named
(ST900 in check, DV001 in deploy validate), in bounded time and memory; deep flow nesting never
reaches libyaml's recursive composer (which segfaults at 100,000 `[`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.hostile.canaries import assert_canaries_checked, assert_sound, check, make_repo, run_cli

ENV = "env:\n  LANGFUSE_SECRET_KEY: sk-lf-0a1b2c3d4e5f\n"


def merge_bomb(levels: int = 24) -> str:
    lines = ["a0: &a0 {k: v}"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}], k{i}: v}}")
    return "\n".join(lines) + "\nenv:\n  <<: *a" + str(levels - 1) + "\n"


def laughs(levels: int = 12) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*l{i - 1}"] * 10)
        lines.append(f"l{i}: &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


BOMBS = {
    "merge": (merge_bomb(), "expand to more than"),
    "laughs": (laughs(), "expand to more than"),
    "flow_depth": ("x: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested more than"),
    "block_depth": ("x:\n" + "- " * 50_000 + "y\n", "nested more than"),
    "documents": ("---\na: 1\n" * 20_000, "YAML documents"),
    "recursive": ("a: &a [*a]\n" + ENV, "contains it"),
}


def test_the_bomb_is_small() -> None:
    assert len(merge_bomb()) < 1200 and len(laughs()) < 1000


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_check_refuses_the_bomb_and_checks_the_rest(tmp_path: Path, name: str) -> None:
    text, reason = BOMBS[name]
    root = make_repo(
        tmp_path / "repo", {"deploy/values.yaml": ENV + text if name != "recursive" else text}
    )
    run = check(root)
    assert_sound(run, seconds=30, rss_mb=300)
    assert_canaries_checked(run)
    # one ST900 naming the bound; the file is then scanned line by line (the secret is found)
    refused = [line for line in run.lines_for("deploy/values.yaml") if " ST900 " in line]
    assert len(refused) == 1 and reason in refused[0], run.output


@pytest.mark.parametrize("name", ["merge", "laughs", "flow_depth", "recursive"])
def test_deploy_validate_refuses_the_bomb(tmp_path: Path, name: str) -> None:
    pytest.importorskip("kubernetes_validate")
    text, reason = BOMBS[name]
    root = tmp_path / "repo"
    (root / "deploy").mkdir(parents=True)
    (root / "deploy" / "bomb.yaml").write_text(text)
    run = run_cli(root, "deploy", "validate", "deploy")
    assert "Traceback" not in run.output, run.output
    assert run.code == 1 and run.seconds < 60 and run.peak_rss_mb < 400, run
    assert len(run.output) < 10_000  # was 4.9 MB of expanded data for a 200-byte file
    assert "DV001" in run.stdout and reason in run.stdout, run.output


def test_ordinary_anchors_and_merges_still_work(tmp_path: Path) -> None:
    text = "base: &base\n  LANGFUSE_SECRET_KEY: sk-lf-0a1b2c3d4e5f\nenv:\n  <<: *base\n  OTHER: x\n"
    root = make_repo(tmp_path / "repo", {"deploy/values.yaml": text})
    run = check(root)
    assert_sound(run, seconds=30, rss_mb=300)
    assert any(" ST401 " in line for line in run.lines_for("deploy/values.yaml")), run.output
    assert sys.version_info >= (3, 11)
