"""``somatrace server``: the Language Server over stdio (needs ``somatrace[lsp]``).

The command line hands the server its fixer (the fixers are imported here, not in
``checks.lsp``): code actions apply safe fixes to one document's unsaved text, in memory.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from somatrace.checks.lint.engine import Engine
from somatrace.checks.lint.findings import Finding


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stdio", action="store_true", help="talk LSP over stdin/stdout (the default; for editors)"
    )


def fix_document(path: Path, text: str, findings: list[Finding], engine: Engine) -> str | None:
    """``text`` with the safe fixes for ``findings`` applied, or ``None`` if none applies."""
    from somatrace.checks.lint.source import Source
    from somatrace.fixers.support.runner import fix_source

    config = engine.config_for(engine.resolver.for_path(path))
    source = Source(path=path, data=text.encode("utf-8"), text=text, encoding="utf-8")
    display = findings[0].path if findings else path.name
    fixed = fix_source(source, display, findings, config, config.relpath(path), False)
    return fixed.after if fixed.changed else None


def run(args: argparse.Namespace) -> int:
    from somatrace.checks.lsp.server import build_server

    build_server(fix_document).start_io()
    return 0
