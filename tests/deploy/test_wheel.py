"""`somatrace deploy validate` from a built wheel, away from the repository: the CRD and
helmfile schemas are package data, not files read from the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO


@pytest.mark.slow
def test_deploy_validate_runs_from_the_wheel(tmp_path: Path) -> None:
    dist, target = tmp_path / "dist", tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(REPO),
        ],
        check=True,
        timeout=600,
    )
    (wheel,) = dist.glob("somatrace-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for data in (
        "schemas/README.md",
        "schemas/helmfile.schema.json",
        "schemas/langfuse-values.schema.json",
        "schemas/external-secrets.io/externalsecret_v1.json",
        "schemas/external-secrets.io/secretstore_v1.json",
    ):
        assert f"somatrace/checks/deploy/{data}" in names, data
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=600,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run(
        [sys.executable, "-c", "import somatrace.checks.deploy.schemas as s; print(s.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(target))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "somatrace.checks.cli.main",
            "deploy",
            "validate",
            str(REPO / "deploy"),
            "--no-policy-rules",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert ": ok" in done.stderr
