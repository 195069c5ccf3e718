"""A file's analysis leaves nothing for the cyclic collector: the tree and the index are freed
by reference counting as the analysis returns (``Module.release``). The workers collect the
young generation after every file; a tree kept alive by a cycle (the term memo refers back to
its module) made that collection traverse every node again."""

from __future__ import annotations

import gc
from pathlib import Path

from somatrace.checks.lint.config import Config
from somatrace.checks.lint.engine import _RULES, _Task, analyse_bytes
from somatrace.rules import all_rules
from tests.helpers import REPO

FILES = [
    *sorted((REPO / "examples" / "monorepo").rglob("*.py")),
    REPO / "sdk" / "somatrace" / "tracing.py",
    REPO / "rules" / "pii_span_attribute.py",
]


def test_an_analysis_leaves_no_cyclic_garbage(tmp_path: Path) -> None:
    rules = all_rules()
    _RULES.update({r.CODE: r for r in rules})
    codes = tuple(r.CODE for r in rules)
    config = Config(root=REPO)
    parsed = 0
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for path in FILES:
            task = _Task(
                path=str(path),
                relpath=path.relative_to(REPO).as_posix(),
                config=config,
                codes=codes,
                known_digest=None,
                hashed=False,
                init_names=(b"init_tracing",),
            )
            result = analyse_bytes(task, path.read_bytes())
            parsed += bool(result.get("parsed"))
            assert gc.collect() == 0, path
    finally:
        if enabled:
            gc.enable()
    assert parsed >= 5  # the rules ran on real trees, not only the screens
