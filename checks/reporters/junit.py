"""JUnit XML for CI test tabs: one test suite per file with findings, one failing test case per
finding; a clean run is one passing test case, so the tab shows that the gate ran."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import groupby

from somatrace.checks.lint.engine import CheckResult
from somatrace.checks.reporters.text import fix_hint


def render(result: CheckResult) -> str:
    suites = ET.Element(
        "testsuites",
        name="somatrace",
        tests=str(max(len(result.findings), 1)),
        failures=str(len(result.findings)),
        errors="0",
        time=f"{result.elapsed:.3f}",
    )
    if not result.findings:
        suite = ET.SubElement(
            suites, "testsuite", name="somatrace", tests="1", failures="0", errors="0"
        )
        ET.SubElement(suite, "testcase", classname="somatrace", name="no findings")
    for path, group in groupby(result.findings, key=lambda f: f.path):
        findings = list(group)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=path,
            tests=str(len(findings)),
            failures=str(len(findings)),
            errors="0",
        )
        for f in findings:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=path,
                name=f"{f.code} at {f.line}:{f.col}",
                file=path,
                line=str(f.line),
            )
            failure = ET.SubElement(case, "failure", message=f.message, type=f.code)
            hint = fix_hint(f)
            failure.text = f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}" + (
                f"\n[{hint}]" if hint else ""
            )
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
