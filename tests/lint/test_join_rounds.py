"""The project join asks for every module one question lacks in the same round: the call sites
of a wrapper are independent, so the modules their arguments come from are fetched together
(:class:`somatrace.checks.lint.project.Gather`), not one round per call site. On real code a
common helper's callers took a round each: 28 rounds on llm-stack, 10 with this."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import check_in_process, commit_tree, write_pyproject

CALLERS = 8

WRAP = "def run_in_span(tracer, name):\n    with tracer.start_as_current_span(name):\n        return name\n"
CORE = "from opentelemetry import trace\n\ntracer = trace.get_tracer(__name__)\n"


def _caller(i: int) -> str:
    # Read by the workers (it starts a span of its own); the tracer it passes comes from a
    # module no rule reads, so the join must fetch app/tel{i}.py to know what run_in_span gets.
    return (
        "from opentelemetry import trace\n\n"
        f"from app.tel{i} import tracer\nfrom app.wrap import run_in_span\n\n"
        f"run_in_span(tracer, 'job{i}')\n\n\n"
        "def own():\n    with trace.get_tracer('m').start_as_current_span('own'):\n        pass\n"
    )


def _project(root: Path) -> Path:
    app = root / "svc" / "app"
    app.mkdir(parents=True)
    write_pyproject(root, {})
    (app / "__init__.py").write_text("")
    (app / "core.py").write_text(CORE)
    (app / "wrap.py").write_text(WRAP)
    for i in range(CALLERS):
        (app / f"tel{i}.py").write_text("from app.core import tracer\n")
        (app / f"m{i}.py").write_text(_caller(i))
    commit_tree(root)
    return root


def test_the_modules_of_all_call_sites_are_fetched_in_one_round(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    result = check_in_process(root)
    found = sorted(f"{f.path}:{f.line}:{f.code}" for f in result.findings)
    # The wrapper's span is proven a real span through its callers' imported tracers.
    assert "svc/app/wrap.py:2:ST301" in found
    assert found == sorted(
        ["svc/app/wrap.py:2:ST301"] + [f"svc/app/m{i}.py:10:ST301" for i in range(CALLERS)]
    )
    assert result.counts["join_fetched"] == CALLERS  # each tel module read once
    # One round asks, one fetches all eight and answers (it was CALLERS + 1 rounds).
    assert result.counts["join_rounds"] == 2
