"""Every output format, parsed by what reads it: JSON, SARIF (against the official schema),
JUnit XML, GitHub workflow commands."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from tests.helpers import run_cli, write_files, write_pyproject

SCHEMA = Path(__file__).resolve().parent.parent / "fixtures" / "sarif" / "sarif-2.1.0-rtm.5.json"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("formats")
    write_pyproject(root, {})
    write_files(
        root,
        {
            "services/bad/app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
            "lib/direct.py": 'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="x, y: z%")\n',
            # A trigger after the syntax error, so that the file is parsed (and ST900 reported).
            "lib/broken.py": "from fastapi import FastAPI\ndef broken(:\n    app = FastAPI()\n",
        },
    )
    return root


def test_json_is_stable_and_complete(project: Path) -> None:
    first = run_cli("check", ".", "--output-format", "json", "--no-cache", cwd=project)
    second = run_cli("check", ".", "--output-format", "json", cwd=project)
    assert first.returncode == 1
    assert first.stdout == second.stdout
    records = json.loads(first.stdout)
    assert [r["code"] for r in records] == ["ST900", "ST102", "ST101"]
    assert set(records[0]) == {"code", "name", "message", "path", "location", "end_location", "fix"}
    assert records[0]["location"] == {"line": 2, "col": 12}


def test_sarif_validates_against_the_official_schema(project: Path) -> None:
    out = run_cli("check", ".", "--output-format", "sarif", cwd=project)
    log = json.loads(out.stdout)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    for result in run["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]
    locations = {
        r["ruleId"]: r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in run["results"]
    }
    assert locations == {
        "ST101": "services/bad/app/main.py",
        "ST102": "lib/direct.py",
        "ST900": "lib/broken.py",
    }


def test_github_annotations(project: Path) -> None:
    out = run_cli("check", ".", "--output-format", "github", cwd=project)
    lines = out.stdout.splitlines()
    assert len(lines) == 3
    pattern = re.compile(
        r"^::error file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+)"
        r"(?:,endLine=\d+)?(?:,endColumn=\d+)?,title=(?P<title>[^:]+)::(?P<msg>.+)$"
    )
    parsed = [pattern.match(line) for line in lines]
    assert all(parsed), lines
    assert {m["file"] for m in parsed} == {
        "services/bad/app/main.py",
        "lib/direct.py",
        "lib/broken.py",
    }
    assert any(m["title"] == "ST101 missing-init-tracing" for m in parsed)


def test_github_escaping() -> None:
    from somatrace.checks.reporters.github import escape_data, escape_property

    assert escape_data("50%\nnext") == "50%25%0Anext"
    assert escape_property("a:b,c") == "a%3Ab%2Cc"


def test_junit_is_parseable(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "somatrace.xml"
    out = run_cli("check", ".", "--output-format", "junit", "-o", str(target), cwd=project)
    assert out.returncode == 1 and out.stdout == ""
    root = ET.parse(target).getroot()
    assert root.tag == "testsuites" and root.get("failures") == "3"
    cases = root.findall(".//testcase")
    assert len(cases) == 3
    assert {c.find("failure").get("type") for c in cases} == {"ST101", "ST102", "ST900"}


def test_junit_clean_run_has_a_passing_case(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {})
    write_files(tmp_path, {"a.py": "print('hello')\n"})
    out = run_cli("check", ".", "--output-format", "junit", cwd=tmp_path)
    assert out.returncode == 0
    root = ET.fromstring(out.stdout)
    assert root.get("failures") == "0" and len(root.findall(".//testcase")) == 1


def test_sarif_and_json_carry_available_fixes(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {})
    write_files(
        tmp_path,
        {
            "services/bad/app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
            "lib/custom.py": (
                "from opentelemetry.sdk.trace.export import ConsoleSpanExporter\n"
                "from traceloop.sdk import Traceloop\n"
                "Traceloop.init(app_name='x', exporter=ConsoleSpanExporter())\n"
            ),
        },
    )
    sarif = json.loads(run_cli("check", ".", "--output-format", "sarif", cwd=tmp_path).stdout)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(sarif)
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    (fix,) = results["ST101"]["fixes"]
    inserted = "".join(
        rep["insertedContent"]["text"]
        for change in fix["artifactChanges"]
        for rep in change["replacements"]
    )
    assert "from somatrace.tracing import init_tracing" in inserted
    assert 'init_tracing("bad")' in inserted
    # No fix for a custom exporter, and the message says why.
    assert "fixes" not in results["ST102"]
    assert "no automatic fix" in results["ST102"]["message"]["text"]
    records = json.loads(run_cli("check", ".", "--output-format", "json", cwd=tmp_path).stdout)
    by_code = {r["code"]: r for r in records}
    assert by_code["ST101"]["fix"]["edits"] and by_code["ST102"]["fix"] is None
    text = run_cli("check", ".", cwd=tmp_path).stdout
    assert "[*] 1 fixable with `somatrace fix`." in text
