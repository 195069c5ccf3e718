"""The README sections (docs/readme-sections.md) repeat the tested snippets byte for byte, and the
docs' input tables name exactly the inputs that action.yml and gate.yml declare."""

from __future__ import annotations

import re

import yaml

from tests.helpers import REPO
from tests.integrations.snippets import README_SECTIONS, all_snippets, snippets_in

TESTED = {
    "pre-commit-config",
    "pre-commit-config-strict",
    "gate-workflow-caller",
    "action-step",
    "action-sarif-upload",
}


def test_every_snippet_is_one_the_tests_run() -> None:
    assert set(all_snippets()) == TESTED


def test_readme_sections_repeat_the_tested_snippets_exactly() -> None:
    readme = snippets_in(README_SECTIONS)
    assert set(readme) == {"pre-commit-config", "gate-workflow-caller", "action-step"}
    homes = all_snippets()
    for name, body in readme.items():
        assert body == homes[name], f"{name} differs from its home in docs/"


def test_readme_sections_have_the_two_headings() -> None:
    headings = re.findall(r"^## .+$", README_SECTIONS.read_text("utf-8"), re.M)
    assert headings == ["## Use as a pre-commit hook", "## Use in GitHub Actions"]


def test_every_snippet_is_yaml() -> None:
    for name, body in all_snippets().items():
        assert yaml.safe_load(body) is not None, name


def table_names(doc: str, heading: str, first_column: str) -> set[str]:
    """The backticked names in the first column of the table under ``heading``."""
    section = doc.split(heading, 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for table in re.findall(rf"^\| {first_column} \|.*?(?=\n\n|\Z)", section, re.M | re.S):
        names |= set(re.findall(r"^\| `([\w-]+)` \|", table, re.M))
    return names


def test_docs_tables_list_exactly_the_declared_inputs_and_outputs() -> None:
    doc = (REPO / "docs" / "github-actions.md").read_text("utf-8")
    action = yaml.safe_load((REPO / "action.yml").read_text("utf-8"))
    gate = yaml.load(
        (REPO / ".github" / "workflows" / "gate.yml").read_text("utf-8"), Loader=yaml.BaseLoader
    )
    assert table_names(doc, "## The action", "input") == set(action["inputs"])
    assert table_names(doc, "## The action", "output") == set(action["outputs"])
    gate_inputs = gate["on"]["workflow_call"]["inputs"]
    assert table_names(doc, "## The reusable workflow", "input") == set(gate_inputs)
    action_section = doc.split("## The action", 1)[1]
    for name, spec in action["inputs"].items():
        default = spec.get("default", "")
        row = re.search(rf"^\| `{name}` \| ?(`[^`]*`)? ?\|", action_section, re.M)
        assert row, name
        assert (row.group(1) or "") == (f"`{default}`" if default else ""), name


def test_readme_contains_the_sections_verbatim() -> None:
    sections = README_SECTIONS.read_text("utf-8").split("\n---\n", 1)[1].strip("\n")
    assert sections in (REPO / "README.md").read_text("utf-8")
