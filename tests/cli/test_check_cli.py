"""``somatrace check`` end to end: real files, real git repos, the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from somatrace.checks.api import CheckSettings, run_check
from tests.helpers import git, init_repo, run_cli, write_files, write_pyproject

VIOLATING_APP = """
from fastapi import FastAPI

app = FastAPI()
"""
COMPLIANT_APP = """
from fastapi import FastAPI
from somatrace.tracing import init_tracing

init_tracing("ok")
app = FastAPI()
"""
DIRECT_INIT = """
from traceloop.sdk import Traceloop

Traceloop.init(app_name="x")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_pyproject(tmp_path, {})
    write_files(
        tmp_path,
        {
            "services/bad/app/main.py": VIOLATING_APP,
            "services/good/app/main.py": COMPLIANT_APP,
            "lib/direct.py": DIRECT_INIT,
        },
    )
    return tmp_path


def test_text_output_and_exit_code(project: Path) -> None:
    out = run_cli("check", ".", cwd=project)
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert "services/bad/app/main.py:3:7: ST101 " in out.stdout
    assert "lib/direct.py:3:1: ST102 " in out.stdout
    assert "services/good" not in out.stdout
    assert lines[-2].startswith("Found 2 findings in 2 files (")
    assert lines[-1] == "[*] 2 fixable with `somatrace fix`."


def test_clean_tree_exits_zero(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {})
    write_files(tmp_path, {"services/good/app/main.py": COMPLIANT_APP})
    out = run_cli("check", ".", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("All checks passed!")


def test_exit_zero_and_statistics(project: Path) -> None:
    out = run_cli("check", ".", "--exit-zero", "--statistics", cwd=project)
    assert out.returncode == 0
    rows = [line.split("\t") for line in out.stdout.splitlines()]
    assert sorted((r[0].strip(), r[1], r[2]) for r in rows) == [
        ("1", "ST101", "missing-init-tracing"),
        ("1", "ST102", "direct-traceloop-init"),
    ]


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        (["--select", "ST1"], {"ST101", "ST102"}),
        (["--select", "ST101"], {"ST101"}),
        (["--ignore", "ST101"], {"ST102"}),
        (["--select", "ST1", "--ignore", "ST102"], {"ST101"}),
        (["--select", "ST9"], set()),
    ],
)
def test_select_and_ignore(project: Path, args: list[str], codes: set[str]) -> None:
    out = run_cli("check", ".", "--output-format", "json", *args, cwd=project)
    found = {r["code"] for r in json.loads(out.stdout)}
    assert found == codes


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ("colour = 1", "unknown key `colour`"),
        ("select = 'ST1'", "`select` must be a list of strings"),
        ("select = ['BOGUS']", "Unknown rule selector: `BOGUS`"),
        ("auto-detect-entrypoints = 'yes'", "`auto-detect-entrypoints` must be true or false"),
        ("per-file-ignores = ['x']", "`per-file-ignores` must be a table"),
    ],
)
def test_config_errors_name_the_key_and_file(tmp_path: Path, table: str, needle: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.somatrace]\n{table}\n", encoding="utf-8")
    write_files(tmp_path, {"a.py": DIRECT_INIT})
    out = run_cli("check", ".", cwd=tmp_path)
    assert out.returncode == 2
    assert needle in out.stderr
    assert "pyproject.toml" in out.stderr


def test_invalid_toml_and_missing_path_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.somatrace\n", encoding="utf-8")
    out = run_cli("check", ".", cwd=tmp_path)
    assert out.returncode == 2 and "invalid TOML" in out.stderr
    out = run_cli("check", "does-not-exist", cwd=tmp_path)
    assert out.returncode == 2 and "no such file or directory" in out.stderr
    out = run_cli("check", "--select", "nonsense", cwd=tmp_path)
    assert out.returncode == 2 and "Unknown rule selector: `NONSENSE`" in out.stderr


def test_explicit_config_file(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = tmp_path_factory.mktemp("cfg") / "somatrace.toml"
    other.write_text('select = ["ST102"]\n', encoding="utf-8")
    out = run_cli("check", ".", "--config", str(other), "--output-format", "json", cwd=project)
    assert {r["code"] for r in json.loads(out.stdout)} == {"ST102"}


def test_noqa_forms(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {})
    write_files(
        tmp_path,
        {
            "a.py": 'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="a")  # noqa: ST102\n',
            "b.py": 'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="b")  # noqa\n',
            "c.py": 'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="c")  # noqa: ST1\n',
            "d.py": 'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="d")  # noqa: ST101\n',
            "e.py": '# somatrace: noqa\nfrom traceloop.sdk import Traceloop\nTraceloop.init(app_name="e")\n',
        },
    )
    out = run_cli("check", ".", "--output-format", "json", cwd=tmp_path)
    assert [r["path"] for r in json.loads(out.stdout)] == ["d.py"]


def test_per_file_ignores_exclude_and_nested_projects(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        {"exclude": ["vendor"], "per-file-ignores": {"legacy/**": ["ST102"]}},
    )
    write_files(
        tmp_path,
        {
            "vendor/x.py": DIRECT_INIT,
            "legacy/old.py": DIRECT_INIT,
            "src/new.py": DIRECT_INIT,
            "nested/src/inner.py": DIRECT_INIT,
            "nested/services/api/app/main.py": VIOLATING_APP,
        },
    )
    # The nested project has its own settings: only ST101 there.
    write_pyproject(tmp_path / "nested", {"select": ["ST101"]}, name="nested")
    out = run_cli("check", ".", "--output-format", "json", "--no-cache", cwd=tmp_path)
    found = sorted((r["path"], r["code"]) for r in json.loads(out.stdout))
    assert found == [
        ("nested/services/api/app/main.py", "ST101"),
        ("src/new.py", "ST102"),
    ]


def test_gitignore_is_honoured(tmp_path: Path) -> None:
    init_repo(tmp_path)
    write_pyproject(tmp_path, {})
    write_files(tmp_path, {"generated/x.py": DIRECT_INIT, "src/y.py": DIRECT_INIT})
    (tmp_path / ".gitignore").write_text("generated/\n", encoding="utf-8")
    out = run_cli("check", ".", "--output-format", "json", cwd=tmp_path)
    assert [r["path"] for r in json.loads(out.stdout)] == ["src/y.py"]


def test_changed_since_reports_only_changed_files_and_dependants(tmp_path: Path) -> None:
    init_repo(tmp_path)
    write_pyproject(tmp_path, {})
    write_files(
        tmp_path,
        {
            "old/direct.py": DIRECT_INIT,
            "services/api/app/__init__.py": "",
            "services/api/app/telemetry.py": (
                "from somatrace.tracing import init_tracing\ninit_tracing('api')\n"
            ),
            "services/api/app/main.py": (
                "from fastapi import FastAPI\nfrom app import telemetry\n\napp = FastAPI()\n"
            ),
        },
    )
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    base = git(tmp_path, "rev-parse", "HEAD").strip()

    out = run_cli("check", ".", "--changed-since", base, cwd=tmp_path)
    assert out.returncode == 0, out.stdout  # the old finding is not in the change

    # Breaking the imported module breaks the entrypoint that depends on it.
    (tmp_path / "services/api/app/telemetry.py").write_text("TRACING = False\n", encoding="utf-8")
    write_files(tmp_path, {"new/direct.py": DIRECT_INIT})
    out = run_cli("check", ".", "--changed-since", base, "--output-format", "json", cwd=tmp_path)
    found = sorted((r["path"], r["code"]) for r in json.loads(out.stdout))
    assert found == [("new/direct.py", "ST102"), ("services/api/app/main.py", "ST101")]

    out = run_cli("check", ".", "--changed-since", "no-such-ref", cwd=tmp_path)
    assert out.returncode == 2 and "unknown git revision" in out.stderr


def test_cache_reuses_unchanged_files_and_sees_changes(project: Path) -> None:
    first = run_check([project])
    assert first.files_cached == 0 and first.files_checked >= 3
    second = run_check([project])
    assert second.files_cached == second.files_checked
    assert second.findings == first.findings
    target = project / "services/good/app/main.py"
    target.write_text(VIOLATING_APP.lstrip(), encoding="utf-8")
    third = run_check([project])
    assert third.files_cached == third.files_checked - 1
    assert {f.path.split("/")[-3] for f in third.findings if f.code == "ST101"} >= {"good"}
    uncached = run_check([project], CheckSettings(use_cache=False))
    assert uncached.findings == third.findings and uncached.files_cached == 0
    assert (project / ".somatrace_cache" / ".gitignore").read_text() == "*\n"


def test_parallel_and_serial_runs_agree(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {})
    files = {f"services/s{i}/app/main.py": VIOLATING_APP for i in range(12)}
    files.update({f"lib/d{i}.py": DIRECT_INIT for i in range(12)})
    write_files(tmp_path, files)
    serial = run_check([tmp_path], CheckSettings(use_cache=False, jobs=1))
    parallel = run_check([tmp_path], CheckSettings(use_cache=False, jobs=2))
    assert len(serial.findings) == 24
    assert serial.findings == parallel.findings


def test_rules_and_explain(tmp_path: Path) -> None:
    out = run_cli("rules", cwd=tmp_path)
    assert out.returncode == 0
    assert any(line.startswith("ST101  missing-init-tracing") for line in out.stdout.splitlines())
    out = run_cli("explain", "ST101", cwd=tmp_path)
    assert out.returncode == 0
    assert "## Why is this bad?" in out.stdout and "init_tracing(" in out.stdout
    out = run_cli("explain", "missing-init-tracing", cwd=tmp_path)
    assert out.stdout.startswith("# ST101")
    # Codes reported by `deploy validate` are explained like every other.
    out = run_cli("explain", "ST403", cwd=tmp_path)
    assert out.returncode == 0 and "OTEL_EXPORTER_OTLP_ENDPOINT" in out.stdout
    out = run_cli("explain", "ST999", cwd=tmp_path)
    assert out.returncode == 2 and "unknown rule" in out.stderr


def test_parent_exclude_covers_a_nested_project(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {"exclude": ["examples"]})
    write_files(tmp_path, {"src/a.py": DIRECT_INIT, "examples/demo/b.py": DIRECT_INIT})
    write_pyproject(tmp_path / "examples" / "demo", {}, name="demo")
    out = run_cli("check", ".", "--output-format", "json", cwd=tmp_path)
    assert [r["path"] for r in json.loads(out.stdout)] == ["src/a.py"]
    # Checked on its own, the nested project is not excluded by anything.
    out = run_cli("check", "examples/demo", "--output-format", "json", cwd=tmp_path)
    assert [r["path"] for r in json.loads(out.stdout)] == ["examples/demo/b.py"]


def test_cache_folder_keeps_only_the_newest_result_files(project: Path) -> None:
    from somatrace.checks.lint.cache import MAX_CACHE_FILES

    # Each distinct selection is a distinct settings key, hence its own result file.
    selections = ["ST101", "ST102", "ST1", "ST9", "ST2", "ST3", "ST4", "ST10", "ST90", "ST20"]
    for code in selections:
        run_check([project], CheckSettings(select=[code]))
    files = list((project / ".somatrace_cache").glob("*.json"))
    assert len(files) == MAX_CACHE_FILES
    # The newest one is the last selection's, and it is still a hit.
    again = run_check([project], CheckSettings(select=["ST20"]))
    assert again.files_cached == again.files_checked


def test_unwritable_output_file_is_exit_2_not_a_traceback(project: Path) -> None:
    target = project / "reports"
    target.mkdir()
    out = run_cli("check", ".", "-o", str(target), cwd=project)
    assert out.returncode == 2
    assert out.stderr.startswith("somatrace: error: Is a directory")
    assert "Traceback" not in out.stderr
