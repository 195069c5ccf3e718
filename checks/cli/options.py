"""Options several commands share, spelled once: ``--output-format``, ``--output-file``,
``--llm-url``. Older spellings (``--json``, ``--output``, ``--llm-base-url``) still work and are
hidden from ``--help``."""

from __future__ import annotations

import argparse
from pathlib import Path

from somatrace.checks.lint.config import CODE_PREFIX
from somatrace.checks.lint.selectors import is_known, unknown_message


def rule_codes(value: str) -> list[str]:
    """``--select`` / ``--ignore``: comma-separated codes or prefixes, each one that exists."""
    codes = [c.strip().upper() for c in value.split(",") if c.strip()]
    for code in codes:
        if not CODE_PREFIX.match(code) or not is_known(code):
            raise argparse.ArgumentTypeError(unknown_message(code))
    return codes


def add_output_format(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--output-format", choices=("text", "json"), default="text", help=help_text)
    parser.add_argument(
        "--json",
        dest="output_format",
        action="store_const",
        const="json",
        help=argparse.SUPPRESS,
    )


def add_output_file(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--output-file", "--output", dest="output", type=Path, default=None, metavar="FILE",
        help=help_text,
    )  # fmt: skip


def add_llm_url(parser: argparse.ArgumentParser, dest: str, help_text: str) -> None:
    parser.add_argument("--llm-url", dest=dest, default=None, metavar="URL", help=help_text)
    parser.add_argument("--llm-base-url", dest=dest, default=None, help=argparse.SUPPRESS)
