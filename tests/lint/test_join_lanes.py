"""The project join's questions answered in lanes, one forked process per group of rules
(:mod:`somatrace.checks.lint.join_lanes`), give the findings one sequence gives."""

from __future__ import annotations

from pathlib import Path

from somatrace.checks.lint.join_lanes import LANE_THRESHOLD, units_of_work
from tests.helpers import check_in_process, commit_tree, write_pyproject

HANDLERS = 60  # two questions each (ST301, ST203): past LANE_THRESHOLD


def test_units_are_whole_rules_first_then_each_package_of_a_rule_biggest_first() -> None:
    codes = ["ST203"] * 5 + ["ST301"] * 3 + ["ST101"] * 2 + ["ST203"]
    places = ["a", "a", "b", "a", "b", "a", "b", "b", "a", "b", "b"]
    assert units_of_work(codes, places, {"ST101"}) == [
        [8, 9],  # ST101 answers all its questions with one pass: one unit, first
        [0, 1, 3],  # then the biggest: ST203 in a (3; before b on a tie), ST203 in b (3) ...
        [2, 4, 10],
        [6, 7],
        [5],
    ]
    # Without a rule done as one, every (rule, package) is a unit.
    assert units_of_work(codes, places, set())[:2] == [[0, 1, 3], [2, 4, 10]]
    assert units_of_work(["ST101"] * 3, ["a", "b", "c"], {"ST101"}) == [[0, 1, 2]]
    assert units_of_work([], [], {"ST101"}) == []
    # Equal sizes: the rule code, then the package, decide, so every run splits the same way.
    assert units_of_work(["ST301", "ST203", "ST301", "ST203"], ["x"] * 4, set()) == [
        [1, 3],
        [0, 2],
    ]


def _project(root: Path) -> Path:
    svc = root / "svc"
    svc.mkdir(parents=True)
    write_pyproject(root, {})
    (svc / "__init__.py").write_text("")
    # `obs` spells no span or tracer API: no rule reads it, the join fetches it.
    (svc / "obs.py").write_text("from svc.setup import make\n\ntracer = make()\n")
    (svc / "setup.py").write_text(
        "from opentelemetry import trace\n\n\ndef make():\n    return trace.get_tracer('svc')\n"
    )
    for i in range(HANDLERS):
        (svc / f"handlers{i}.py").write_text(
            "from svc.obs import tracer\n\n\n"
            f"def handle{i}(user):\n"
            "    with tracer.start_as_current_span('handle') as span:\n"
            "        record(span, user)\n\n\n"
            "def record(span, user):\n"
            "    span.set_attribute('user.email', user.email)\n"
        )
    imports = "".join(f"from svc import handlers{i}\n" for i in range(HANDLERS))
    (svc / "main.py").write_text(f"{imports}from fastapi import FastAPI\n\napp = FastAPI()\n")
    commit_tree(root)
    return root


def test_lanes_find_what_one_sequence_finds(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    inline = check_in_process(root)  # --jobs 0: this process answers, as one lane
    single = check_in_process(root, jobs=1)
    lanes = check_in_process(root, jobs=2)
    assert inline.counts["join_lanes"] == single.counts["join_lanes"] == 1
    assert lanes.counts["join_lanes"] == 2
    assert sorted(f.to_dict().items() for f in inline.findings) == sorted(
        f.to_dict().items() for f in single.findings
    )
    found = sorted(f.to_dict().items() for f in lanes.findings)
    assert found == sorted(f.to_dict().items() for f in single.findings)
    by_code: dict[str, int] = {}
    for finding in lanes.findings:
        by_code[finding.code] = by_code.get(finding.code, 0) + 1
    # Every handler's span lacks the tags and records an email on it (through `record`'s
    # parameter: a question for the join); main builds an app and never initialises tracing.
    assert by_code == {"ST101": 1, "ST203": HANDLERS, "ST301": HANDLERS}
    assert 2 * HANDLERS >= LANE_THRESHOLD
    assert lanes.counts["join_fetched"] >= 1  # svc/obs.py, in a lane's own process


def test_what_the_lanes_fetch_is_cached(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    first = check_in_process(root, jobs=2, use_cache=True)
    assert first.counts["join_lanes"] == 2 and first.counts["join_fetched"] >= 1
    handler = root / "svc" / "handlers0.py"
    handler.write_text(handler.read_text() + "# edited\n")  # the join runs again
    second = check_in_process(root, jobs=2, use_cache=True)
    assert second.counts["join_lanes"] == 2
    assert second.counts["join_fetched"] == 0  # svc/obs.py's facet came from the cache
    assert sorted(f.to_dict().items() for f in second.findings) == sorted(
        f.to_dict().items() for f in first.findings
    )


def test_a_lane_whose_process_dies_is_answered_in_the_parent(tmp_path: Path) -> None:
    import ast
    import os
    from collections.abc import Iterable
    from typing import Any

    from somatrace.checks.lint.findings import Finding
    from somatrace.checks.lint.module import Module
    from somatrace.checks.lint.project import ModuleFacts, ProjectModel
    from somatrace.checks.lint.rule import PythonRule
    from somatrace.rules import all_rules

    parent = os.getpid()

    class DiesInALane(PythonRule):
        """Defers every span start; its answer kills any process but the parent's, as a crash
        in native code would."""

        CODE = "ST998"
        NAME = "dies-in-a-lane"
        TRIGGERS = (b"start_as_current_span",)

        def check(self, module: Module) -> None:
            for call, _ in module.calls:
                if type(call.func) is ast.Attribute and call.func.attr == "start_as_current_span":
                    self.defer(call, "answered", ["lane"])

        @classmethod
        def settle(
            cls, finding: Finding, query: Any, project: ProjectModel, facts: ModuleFacts
        ) -> Iterable[Finding]:
            if os.getpid() != parent:
                os._exit(3)
            yield finding

    root = _project(tmp_path / "p")
    rules = [*all_rules(), DiesInALane]
    single = check_in_process(root, rules, jobs=1)
    lanes = check_in_process(root, rules, jobs=2)
    assert lanes.counts["join_lanes"] == 2
    assert lanes.counts["join_lane_failures"] == 1  # the lane holding ST998 died
    assert sorted(f.to_dict().items() for f in lanes.findings) == sorted(
        f.to_dict().items() for f in single.findings
    )
    assert sum(f.code == "ST998" for f in lanes.findings) == HANDLERS
