"""The distribution: every package is listed, and a built wheel works in a fresh venv."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO


def declared() -> tuple[dict[str, str], list[str]]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = data["tool"]["setuptools"]
    return setuptools["package-dir"], setuptools["packages"]


def test_every_package_folder_is_listed() -> None:
    package_dir, packages = declared()
    expected = set()
    for package, folder in package_dir.items():
        base = REPO / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            expected.add(".".join([package, *rel.parts]))
    assert expected == set(packages), (
        f"missing from pyproject packages: {sorted(expected - set(packages))}; "
        f"listed but absent: {sorted(set(packages) - expected)}"
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
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
            str(out),
            str(REPO),
        ],
        check=True,
        timeout=600,
    )
    (built,) = out.glob("somatrace-*.whl")
    return built


def test_wheel_contains_every_package_and_data(wheel: Path) -> None:
    _, packages = declared()
    names = zipfile.ZipFile(wheel).namelist()
    for package in packages:
        assert f"{package.replace('.', '/')}/__init__.py" in names, package
    assert "somatrace/checks/cli/main.py" in names
    assert "somatrace/rules/missing_init_tracing.py" in names
    assert not any(n.startswith(("tests/", "examples/", "rules/", "checks/")) for n in names)


def test_wheel_installs_and_runs_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = venv / "bin" / "pip"
    subprocess.run([str(pip), "install", "-q", str(wheel)], check=True, timeout=600)
    cli = venv / "bin" / "somatrace"
    # The base install is light: the lint gate must not need the SDK's dependencies.
    freeze = subprocess.run([str(pip), "freeze"], capture_output=True, text=True, check=True)
    assert "opentelemetry" not in freeze.stdout and "traceloop" not in freeze.stdout
    out = subprocess.run(
        [str(cli), "check", "examples/monorepo", "--no-cache", "--output-format", "concise"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1, out.stderr
    assert "examples/monorepo/services/billing/app/main.py" in out.stdout
    assert "ST101" in out.stdout and "ST102" in out.stdout
    for compliant in ("chat-api", "search", "summarizer"):
        assert f"services/{compliant}/" not in out.stdout
    explain = subprocess.run([str(cli), "explain", "ST101"], capture_output=True, text=True)
    assert explain.returncode == 0 and "## What it does" in explain.stdout
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("somatrace 0.")
