"""The copy-paste snippets of the docs, as the tests run them.

A snippet is a fenced block right after a ``<!-- snippet: NAME -->`` line. Its home is
``docs/pre-commit.md`` or ``docs/github-actions.md``; ``docs/readme-sections.md`` (pasted into
the README) repeats some of them byte for byte.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import REPO

SNIPPET = re.compile(
    r"^<!-- snippet: (?P<name>[\w-]+) -->\n```(?P<lang>\w*)\n(?P<body>.*?)^```$", re.M | re.S
)
HOME_DOCS = (REPO / "docs" / "pre-commit.md", REPO / "docs" / "github-actions.md")
README_SECTIONS = REPO / "docs" / "readme-sections.md"
UPSTREAM = "https://github.com/somatrace/somatrace"


def snippets_in(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in SNIPPET.finditer(path.read_text("utf-8")):
        name = match.group("name")
        if name in found:
            raise AssertionError(f"{path.name}: snippet {name!r} appears twice")
        found[name] = match.group("body")
    return found


def all_snippets() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in HOME_DOCS:
        for name, body in snippets_in(path).items():
            if name in found:
                raise AssertionError(f"snippet {name!r} has two homes")
            found[name] = body
    return found


def snippet(name: str) -> str:
    return all_snippets()[name]


def pre_commit_config_for(name: str, repo: Path, rev: str) -> str:
    """A pre-commit snippet with only ``repo:`` and ``rev:`` pointed at a local somatrace."""
    text = snippet(name)
    if f"repo: {UPSTREAM}\n" not in text:
        raise AssertionError(f"{name} does not name {UPSTREAM}")
    text = text.replace(f"repo: {UPSTREAM}\n", f"repo: {repo}\n")
    swapped, count = re.subn(r"^(\s*rev: )\S+", rf"\g<1>{rev}", text, flags=re.M)
    if count != 1:
        raise AssertionError(f"{name}: expected one rev: line")
    return swapped
