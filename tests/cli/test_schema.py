"""The JSON Schema of ``[tool.somatrace]`` shipped in the package: what the generator makes,
valid for every example configuration, and as strict as the gate."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import jsonschema
import pytest

from somatrace.checks.lint.config import OPTIONS
from somatrace.checks.lint.schema_gen import render, shipped_schema
from tests.helpers import REPO, run_cli


def example_tables() -> list[tuple[str, dict]]:
    """Every [tool.somatrace] table of the repository: pyproject files and TOML in the docs."""
    tables = []
    for path in sorted(REPO.glob("**/pyproject.toml")):
        if ".venv" in path.parts or "node_modules" in path.parts:
            continue
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except tomllib.TOMLDecodeError:
            continue  # templates are no configuration (tests/cli prove they are skipped)
        table = data.get("tool", {}).get("somatrace")
        if table is not None:
            tables.append((str(path.relative_to(REPO)), table))
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("**/*.md"))]:
        for i, block in enumerate(re.findall(r"```toml\n(.*?)```", doc.read_text("utf-8"), re.S)):
            if "[tool.somatrace" not in block:
                continue
            table = tomllib.loads(block).get("tool", {}).get("somatrace")
            tables.append((f"{doc.relative_to(REPO)}#{i}", table))
    return tables


def test_shipped_schema_is_generated_from_the_options() -> None:
    shipped = (REPO / "checks/lint/schema/somatrace.schema.json").read_text("utf-8")
    assert shipped == render(), (
        "run: python -m somatrace.checks.lint.schema_gen > checks/lint/schema/somatrace.schema.json"
    )
    assert set(OPTIONS) <= set(shipped_schema()["properties"])


@pytest.mark.parametrize(
    ("where", "table"), example_tables(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_example_configuration_is_valid(where: str, table: dict) -> None:
    jsonschema.Draft7Validator(shipped_schema()).validate(table)


def test_examples_were_found() -> None:
    places = {where.split("#")[0] for where, _ in example_tables()}
    assert {"pyproject.toml", "examples/monorepo/pyproject.toml", "README.md"} <= places


@pytest.mark.parametrize(
    "bad",
    [
        {"select": ["ST999"]},
        {"unknown-key": 1},
        {"max-file-size": -1},
        {"min-sampling-rate": 2},
        {"per-file-ignores": {"a/**": ["ST1", "XX9"]}},
    ],
)
def test_schema_rejects_what_the_gate_rejects(bad: dict, tmp_path: Path) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(shipped_schema()).validate(bad)
    from tests.helpers import write_pyproject

    write_pyproject(tmp_path, bad)
    (tmp_path / "a.py").write_text("x = 1\n")
    assert run_cli("check", ".", cwd=tmp_path).returncode == 2
