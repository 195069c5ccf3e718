"""JUnit XML for CI test tabs: one test case per LLM call, per script-level check and for
the cost reconciliation; each failure carries the precise message."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from somatrace.checks.smoke.assertions import Failure
from somatrace.checks.smoke.runner import SmokeResult

SCRIPT_CHECKS = {
    "script": "ran its plan and reported its calls",
    "span": "every LLM span matches a reported call",
    "content": "no prompt or completion content in any span",
}


def _case(
    suite: ET.Element, classname: str, name: str, failures: list[Failure], time: float = 0.0
) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time=f"{time:.3f}")
    if failures:
        first = failures[0].message.splitlines()[0]
        failure = ET.SubElement(case, "failure", message=first, type=failures[0].check)
        failure.text = "\n".join(f"[{f.check}] {f.message}" for f in failures)


def render(result: SmokeResult) -> str:
    suites = ET.Element("testsuites", name="somatrace smoke")
    total_tests = total_failures = 0
    for run in result.runs:
        classname = f"smoke.{run.script}"
        suite = ET.SubElement(
            suites, "testsuite", name=f"somatrace smoke: {run.script}", time=f"{run.duration_s:.3f}"
        )
        cases = failed = 0
        run_failures = [f for f in result.failures if f.script == run.script]
        for check, title in SCRIPT_CHECKS.items():
            found = [f for f in run_failures if f.check == check]
            _case(suite, classname, title, found)
            cases, failed = cases + 1, failed + bool(found)
        for call in (c for c in result.calls if c.script == run.script):
            name = (
                f"call #{call.number} {call.record.tenant_id}/{call.record.workflow_name}/"
                f"{call.record.agent_id} ({call.record.response_id})"
            )
            _case(suite, classname, name, call.failures, call.record.latency_s)
            cases, failed = cases + 1, failed + (not call.ok)
        suite.set("tests", str(cases))
        suite.set("failures", str(failed))
        suite.set("errors", "0")
        total_tests, total_failures = total_tests + cases, total_failures + failed
    suite = ET.SubElement(suites, "testsuite", name="somatrace smoke: cost")
    mismatches = [
        Failure("reconciliation", message, "(all scripts)")
        for message in result.reconciliation.mismatches
    ]
    _case(suite, "smoke.cost", "per-tenant totals reconcile exactly with the spans", mismatches)
    suite.set("tests", "1")
    suite.set("failures", str(int(bool(mismatches))))
    suite.set("errors", "0")
    suites.set("tests", str(total_tests + 1))
    suites.set("failures", str(total_failures + int(bool(mismatches))))
    suites.set("errors", "0")
    suites.set("time", f"{result.timings.get('total_s', 0):.3f}")
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
