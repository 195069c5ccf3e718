"""A base install (`pip install somatrace`: libcst, pyyaml, pathspec and nothing else) runs the
gate, and the commands that need an extra say which one instead of a traceback."""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

BASE = ["libcst", "pyyaml", "pathspec"]


@pytest.fixture(scope="module")
def base_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real virtualenv holding the base dependencies and this checkout (editable, through the
    same finder pip wrote for the project's own venv), none of the extras."""
    venv = tmp_path_factory.mktemp("base") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *BASE],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    target = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip())  # fmt: skip
    source = Path(next(p for p in site.getsitepackages() if Path(p, "libcst").exists()))
    copied = 0
    for entry in source.iterdir():
        if entry.name.startswith(
            ("__editable__.somatrace", "__editable___somatrace", "somatrace-")
        ):
            copy = shutil.copytree if entry.is_dir() else shutil.copy2
            copy(entry, target / entry.name)
            copied += 1
    if copied < 2:
        pytest.skip("this venv has no editable install of somatrace to reuse")
    return python


def cli(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "somatrace.checks.cli.main", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_gate_runs_on_the_base_install(base_python: Path, tmp_path: Path) -> None:
    missing = subprocess.run([str(base_python), "-c", "import kubernetes"], capture_output=True)
    assert missing.returncode != 0  # really a base install
    (tmp_path / "a.py").write_text(
        'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="x")\n'
    )
    out = cli(base_python, "check", ".", cwd=tmp_path)
    assert out.returncode == 1 and "a.py:2:1: ST102" in out.stdout, out.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["deploy", "validate", "."], "deploy"),
        (["audit-cluster", "-n", "default"], "deploy"),
        (["smoke"], "smoke"),
        (["server"], "lsp"),
    ],
)
def test_commands_that_need_an_extra_say_which(
    base_python: Path, tmp_path: Path, args: list[str], extra: str
) -> None:
    out = cli(base_python, *args, cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"pip install 'somatrace[{extra}]'" in out.stderr
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr
