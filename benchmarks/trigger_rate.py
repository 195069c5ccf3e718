"""How many files of each tree pass the byte pre-filter of the selected rules (ST101, ST301).

    python benchmarks/trigger_rate.py                        # llm-stack, llm-services, stdlib
    python benchmarks/trigger_rate.py llm-stack --select ST101,ST301,ST203

Run it with the Python of the environment whose engine you measure (the rules are imported from
``somatrace.rules``). Two figures per rule and for the selection:

- ``triggers``: files containing any of the rule's ``TRIGGERS`` bytes (the raw byte screen);
- ``applies_to``: files the rule's ``applies_to`` pre-filter accepts (the refined screen that
  decides what the current engine parses), with a default config and no configured entrypoints.

Fetch the trees first with ``benchmarks/fetch_corpus.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from corpora import STDLIB, load_corpora, python_files, tree_root

from somatrace import rules as registry


def module_name(root: Path, path: Path) -> str | None:
    """The dotted module name of ``path`` from the enclosing ``__init__.py`` packages."""
    parts = [path.stem] if path.stem != "__init__" else []
    directory = path.parent
    while directory != root and (directory / "__init__.py").exists():
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts) or None


def file_context(root: Path, path: Path) -> Any:
    """A ``FileContext`` for ``path`` with the default config."""
    from somatrace.checks.lint.config import Config
    from somatrace.checks.lint.rule import FileContext

    return FileContext(
        path=path,
        relpath=path.relative_to(root).as_posix(),
        module_name=module_name(root, path),
        is_package=path.name == "__init__.py",
        config=Config(root=root),
    )


def measure(root: Path, codes: list[str]) -> dict[str, dict[str, int]]:
    rules = {code: registry.rule_by_code(code) for code in codes}
    missing = [code for code, rule in rules.items() if rule is None]
    if missing:
        raise SystemExit(f"unknown rule code(s): {', '.join(missing)}")
    counts = {code: {"triggers": 0, "applies_to": 0} for code in [*codes, "selection"]}
    files = python_files(root)
    for path in files:
        source = path.read_bytes()
        ctx = file_context(root, path)
        any_trigger = any_applies = False
        for code, rule in rules.items():
            assert rule is not None
            if any(t in source for t in rule.TRIGGERS):
                counts[code]["triggers"] += 1
                any_trigger = True
            if rule.applies_to(source, ctx):
                counts[code]["applies_to"] += 1
                any_applies = True
        counts["selection"]["triggers"] += any_trigger
        counts["selection"]["applies_to"] += any_applies
    counts["files"] = {"triggers": len(files), "applies_to": len(files)}
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", default=None)
    parser.add_argument("--select", default="ST101,ST301")
    args = parser.parse_args()
    trees = args.trees or [*load_corpora(), STDLIB]
    codes = [c.strip() for c in args.select.split(",") if c.strip()]
    print(f"{'tree':<14}{'rule':<11}{'files':>7}{'triggers':>10}{'%':>7}{'applies_to':>12}{'%':>7}")
    for tree in trees:
        root = tree_root(tree)
        if not root.is_dir():
            raise SystemExit(f"{root}: not fetched (python benchmarks/fetch_corpus.py {tree})")
        counts = measure(root, codes)
        total = counts.pop("files")["triggers"]
        for code, row in counts.items():
            t, a = row["triggers"], row["applies_to"]
            print(
                f"{tree:<14}{code:<11}{total:>7}{t:>10}{100 * t / total:>6.1f}%"
                f"{a:>12}{100 * a / total:>6.1f}%"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
