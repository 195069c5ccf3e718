"""A finding's dict form (what workers send, the cache keeps and JSON reports read) is what
``dataclasses.asdict`` makes, written out for speed, and reads back into the same finding."""

from __future__ import annotations

from dataclasses import asdict

from somatrace.checks.lint.findings import Edit, Finding, Fix

FINDINGS = [
    Finding("app/main.py", 3, 1, "ST101", "no init_tracing"),
    Finding(
        "app/spans.py",
        10,
        5,
        "ST301",
        "span lacks tags",
        end_line=12,
        end_col=9,
        fix=Fix("add tags", (Edit(10, 5, 10, 9, "x"), Edit(11, 1, 11, 1, "y\n")), safe=False),
        data={"missing": ["tenant_id"], "pair": (1, (2, 3)), "nested": {"k": None, "n": 1.5}},
    ),
]


def test_the_dict_is_what_asdict_makes() -> None:
    for finding in FINDINGS:
        raw = finding.to_dict()
        assert raw == asdict(finding)
        if finding.fix is not None:
            assert type(raw["fix"]["edits"]) is tuple
            assert type(raw["data"]["pair"]) is tuple


def test_the_data_is_a_copy_and_reads_back() -> None:
    for finding in FINDINGS:
        raw = finding.to_dict()
        assert Finding.from_dict(raw) == finding
        assert Finding.from_dict(raw).data == finding.data
        raw["data"].setdefault("missing", []).append("agent_id")
        assert finding.data.get("missing") in (None, ["tenant_id"])
