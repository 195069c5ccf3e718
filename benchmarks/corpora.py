"""The pinned corpora of ``benchmarks/corpora.toml``, typed, and where they are unpacked.

Imported by ``fetch_corpus.py``, ``accuracy.py`` and ``check_vs_ruff.py``; not a script.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
MANIFEST = BENCHMARKS / "corpora.toml"
CORPUS_ROOT = BENCHMARKS / "corpus"
WHEEL_CACHE = CORPUS_ROOT / ".wheels"
LABELS = BENCHMARKS / "labels"
STDLIB = "stdlib"  # the second speed tree: a copy of this Python's standard library
MARKER = ".complete"

# Written at the root of every unpacked tree. The corpus lives inside this repository's work tree,
# whose own pyproject.toml excludes `benchmarks/corpus/**` and whose .gitignore hides it; a config
# of its own and a git repository of its own make both tools see every file, as in a user's repo.
ROOT_PYPROJECT = """\
# Written by benchmarks/fetch_corpus.py: the nearest [tool.somatrace] for this tree, so that the
# somatrace repository's own excludes (benchmarks/corpus/**) do not apply here.
[tool.somatrace]
exclude = []
"""


@dataclass(frozen=True, slots=True)
class Wheel:
    name: str
    version: str
    wheel: str  # the exact file name pip must download
    sha256: str
    kind: str
    note: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True, slots=True)
class Corpus:
    name: str
    description: str
    wheels: tuple[Wheel, ...]

    @property
    def root(self) -> Path:
        return CORPUS_ROOT / self.name

    def dist_dir(self, wheel: Wheel) -> Path:
        return self.root / wheel.name


def load_corpora(manifest: Path = MANIFEST) -> dict[str, Corpus]:
    """Every corpus declared in the manifest, by name, in file order."""
    with manifest.open("rb") as fh:
        data = tomllib.load(fh)
    corpora: dict[str, Corpus] = {}
    for name, table in data["corpora"].items():
        wheels = tuple(Wheel(**entry) for entry in table["wheels"])
        corpora[name] = Corpus(name=name, description=table["description"], wheels=wheels)
    return corpora


def tree_root(name: str) -> Path:
    """Where a tree (a corpus or ``stdlib``) is unpacked."""
    return CORPUS_ROOT / name


def python_files(root: Path) -> list[Path]:
    """The ``.py`` files under ``root`` (what both tools read), sorted."""
    return sorted(p for p in root.rglob("*.py") if p.is_file() and ".git" not in p.parts)
