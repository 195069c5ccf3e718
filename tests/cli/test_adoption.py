"""Turning the gate on for legacy code: baseline, --add-noqa, file-level and unused noqa, stdin,
--show-files, and fix counts that agree in every format."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.helpers import git, init_repo, run_cli, write_files, write_pyproject

APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"
DIRECT = 'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="x")\n'
UNSAFE = 'from traceloop.sdk import Traceloop\nclient = Traceloop.init(app_name="x")\n'


def codes(out: subprocess.CompletedProcess[str]) -> list[tuple[str, str, int]]:
    return sorted((r["path"], r["code"], r["location"]["line"]) for r in json.loads(out.stdout))


def stdin_cli(data: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "somatrace.checks.cli.main", *args],
        input=data, cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_baseline_absorbs_todays_findings_and_survives_edits(tmp_path: Path) -> None:
    init_repo(tmp_path)
    write_pyproject(tmp_path, {})
    write_files(tmp_path, {"services/a/app/main.py": APP, "lib/direct.py": DIRECT})
    wrote = run_cli("check", "--write-baseline", ".somatrace-baseline.json", cwd=tmp_path)
    assert wrote.returncode == 0 and "Wrote 2 findings" in wrote.stdout
    document = json.loads((tmp_path / ".somatrace-baseline.json").read_text())
    assert {(e["code"], e["path"]) for e in document["findings"]} == {
        ("ST101", "services/a/app/main.py"),
        ("ST102", "lib/direct.py"),
    }
    gate = ["check", "--baseline", ".somatrace-baseline.json"]
    assert run_cli(*gate, cwd=tmp_path).returncode == 0

    # Lines added above both findings move them: still absorbed (matched by text, not line).
    main = tmp_path / "services/a/app/main.py"
    main.write_text("import os\nimport sys\n\n" + APP)
    direct = tmp_path / "lib/direct.py"
    direct.write_text("# legacy module\n\n" + DIRECT)
    moved = run_cli(*gate, "--output-format", "json", cwd=tmp_path)
    assert moved.returncode == 0 and json.loads(moved.stdout) == [], moved.stdout

    # A second identical call is new: each baseline entry absorbs one finding.
    direct.write_text(direct.read_text() + 'Traceloop.init(app_name="x")\n')
    new = run_cli(*gate, "--output-format", "json", cwd=tmp_path)
    assert new.returncode == 1
    assert codes(new) == [("lib/direct.py", "ST102", 5)]
    # ... and from a subfolder the same baseline applies (paths are repository-relative).
    sub = run_cli("check", ".", "--baseline", "../.somatrace-baseline.json", cwd=tmp_path / "lib")
    assert sub.returncode == 1 and sub.stdout.count("ST102") == 1, sub.stdout


def test_add_noqa_makes_the_gate_pass(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {})
    write_files(
        tmp_path,
        {
            "lib/direct.py": DIRECT,
            "lib/doc.py": 'X = """\nTraceloop.init is documented here\n"""\n' + DIRECT,
            ".env": "TRACELOOP_TRACE_CONTENT=true\n",
        },
    )
    added = run_cli("check", "--add-noqa", cwd=tmp_path)
    assert added.returncode == 0 and "Added 3 noqa directives." in added.stdout, added.stderr
    assert (tmp_path / "lib/direct.py").read_text().splitlines()[1].endswith("  # noqa: ST102")
    assert (tmp_path / ".env").read_text() == "TRACELOOP_TRACE_CONTENT=true  # noqa: ST202\n"
    compile((tmp_path / "lib/doc.py").read_text(), "doc.py", "exec")
    after = run_cli("check", cwd=tmp_path)
    assert after.returncode == 0, after.stdout


def test_file_level_noqa_with_codes(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "a.py": "# somatrace: noqa: ST102\n" + DIRECT,
            "b.py": "# somatrace: noqa: ST3\n" + DIRECT,
            "c.py": "# somatrace: noqa\n" + DIRECT,
        },
    )
    out = run_cli("check", "--output-format", "json", cwd=tmp_path)
    assert codes(out) == [("b.py", "ST102", 3)]


def test_unused_noqa_is_reported_on_request(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "a.py": DIRECT.replace('"x")', '"x")  # noqa: ST102, ST301'),
            "b.py": "import os  # noqa\nprint(os)  # noqa: ST101\n",
            # Ruff's codes are Ruff's: neither unknown nor unused here.
            "c.py": "import os  # noqa: F401\nprint(os)  # noqa: T201, ST101\n",
        },
    )
    plain = run_cli("check", cwd=tmp_path)
    assert plain.returncode == 0, plain.stdout
    out = run_cli("check", "--report-unused-noqa", cwd=tmp_path)
    assert out.returncode == 1
    assert "a.py:2:31: unused `# noqa` directive (unused: ST301)" in out.stderr
    assert "b.py:1:12: unused `# noqa` directive" in out.stderr
    assert "b.py:2:12: unused `# noqa` directive (unused: ST101)" in out.stderr
    assert "c.py:2:12: unused `# noqa` directive (unused: ST101)" in out.stderr
    assert "c.py:1:" not in out.stderr and "F401" not in out.stderr and "T201" not in out.stderr
    write_pyproject(tmp_path, {"report-unused-noqa": True})
    assert run_cli("check", cwd=tmp_path).returncode == 1


def test_check_and_fix_a_buffer_from_stdin(tmp_path: Path) -> None:
    init_repo(tmp_path)
    write_pyproject(tmp_path, {})
    write_files(
        tmp_path,
        {
            "services/x/app/__init__.py": "",
            "services/x/app/main.py": "print('on disk: not what is checked')\n",
            "services/x/app/telemetry.py": "import logging\n",
        },
    )
    buffer = "from fastapi import FastAPI\nfrom . import telemetry\n\napp = FastAPI()\n"
    args = ["-", "--stdin-filename", "services/x/app/main.py"]
    checked = stdin_cli(buffer, "check", *args, cwd=tmp_path)
    assert checked.returncode == 1, checked.stderr
    assert "services/x/app/main.py:4:7: ST101" in checked.stdout  # the project join ran
    fixed = stdin_cli(buffer, "fix", *args, cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert 'init_tracing("x")' in fixed.stdout and fixed.stdout.endswith("app = FastAPI()\n")
    assert "on disk" in (tmp_path / "services/x/app/main.py").read_text()  # nothing written
    (tmp_path / "services/x/app/telemetry.py").write_text(
        "from somatrace.tracing import init_tracing\ninit_tracing('x')\n"
    )
    assert stdin_cli(buffer, "check", *args, cwd=tmp_path).returncode == 0


def test_show_files(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {"exclude": ["legacy"]})
    write_files(
        tmp_path, {"a.py": "", "legacy/b.py": "", "deploy/values.yaml": "a: 1\n", "n.md": ""}
    )
    out = run_cli("check", "--show-files", cwd=tmp_path)
    assert out.stdout.splitlines() == ["a.py", "deploy/values.yaml"]


def test_safe_and_unsafe_fixes_agree_in_every_format(tmp_path: Path) -> None:
    init_repo(tmp_path)
    write_files(tmp_path, {"safe.py": DIRECT, "unsafe.py": UNSAFE})
    text = run_cli("check", cwd=tmp_path).stdout
    assert "[*] 1 fixable with `somatrace fix`." in text
    assert "(1 unsafe fix available with `somatrace fix --unsafe-fixes`)" in text
    stats = json.loads(
        run_cli("check", "--statistics", "--output-format", "json", cwd=tmp_path).stdout
    )
    assert stats == [
        {
            "code": "ST102",
            "name": "direct-traceloop-init",
            "count": 2,
            "fixable": 1,
            "unsafe_fixable": 1,
        }
    ]
    for extra in ([], ["--no-fix-edits"]):
        records = json.loads(
            run_cli("check", "--output-format", "json", *extra, cwd=tmp_path).stdout
        )
        assert {r["path"]: r["fix"]["applicability"] for r in records} == {
            "safe.py": "safe",
            "unsafe.py": "unsafe",
        }
    sarif = json.loads(run_cli("check", "--output-format", "sarif", cwd=tmp_path).stdout)
    assert sorted(r["properties"]["fixSafety"] for r in sarif["runs"][0]["results"]) == [
        "safe",
        "unsafe",
    ]
    github = run_cli("check", "--output-format", "github", cwd=tmp_path).stdout
    assert "(safe fix available: `somatrace fix`)" in github
    assert "(unsafe fix available: `somatrace fix --unsafe-fixes`)" in github
    fixed = run_cli("fix", cwd=tmp_path)
    assert "Fixed 1 finding in 1 file (1 remaining)" in fixed.stdout
    quiet = run_cli("fix", "-q", cwd=tmp_path)  # -q: the findings left, nothing else (as check)
    checked = run_cli("check", "-q", cwd=tmp_path).stdout.splitlines()
    assert len(checked) == 1 and checked[0].startswith("unsafe.py:2:10: ST102 ")
    assert [line.split(" [not fixed")[0] for line in quiet.stdout.splitlines()] == checked


CONTROL = (
    "from opentelemetry import trace\n"
    "tracer = trace.get_tracer(__name__)\n"
    "with tracer.start_as_current_span('s') as span:\n"
    "    span.set_attribute('user_email\\x1b[31m', 'x')\n"
)


def test_control_characters_never_reach_a_report(tmp_path: Path) -> None:
    write_files(tmp_path, {"svc.py": CONTROL})
    for fmt in ("text", "concise", "json", "sarif", "github", "junit"):
        out = run_cli("check", "--select", "ST203", "--output-format", fmt, cwd=tmp_path)
        assert out.returncode == 1, (fmt, out.stdout, out.stderr)
        assert "\x1b" not in out.stdout, fmt
        if fmt == "junit":
            ET.fromstring(out.stdout.split("\n", 1)[1])
    assert "\\x1b" in run_cli("check", "--select", "ST203", cwd=tmp_path).stdout


def test_sarif_and_github_paths_are_repository_relative(tmp_path: Path) -> None:
    init_repo(tmp_path)
    write_files(
        tmp_path, {"services/a/.env": "TRACELOOP_TRACE_CONTENT=true\n", "services/a/s.py": DIRECT}
    )
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "a")
    sub = tmp_path / "services/a"
    sarif = json.loads(run_cli("check", ".", "--output-format", "sarif", cwd=sub).stdout)
    run = sarif["runs"][0]
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert uris == {"services/a/.env", "services/a/s.py"}
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["ST101"]["helpUri"].endswith("/docs/rules/ST101.md")
    assert {c for c, r in rules.items() if "security-severity" in r["properties"]} == {
        "ST201",
        "ST202",
        "ST401",
    }
    fingerprints = [r["partialFingerprints"]["somatrace/v1"] for r in run["results"]]
    assert len(set(fingerprints)) == 2
    (sub / "s.py").write_text("# moved down\n" + DIRECT)
    again = json.loads(run_cli("check", ".", "--output-format", "sarif", cwd=sub).stdout)
    assert sorted(
        r["partialFingerprints"]["somatrace/v1"] for r in again["runs"][0]["results"]
    ) == sorted(fingerprints)
    github = run_cli("check", ".", "--output-format", "github", cwd=sub).stdout
    assert "file=services/a/s.py," in github and "file=services/a/.env," in github


def test_coding_cookie_after_code_is_ignored_like_cpython(tmp_path: Path) -> None:
    # CPython reads this as UTF-8 (the cookie is not on line 1 or 2 after a comment) and
    # rejects the Latin-1 byte: ST900, as `python` itself would fail.
    (tmp_path / "late.py").write_bytes(
        b"x = 1\n# -*- coding: latin-1 -*-\nname = '\xe9'\n" + DIRECT.encode()
    )
    (tmp_path / "early.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nname = '\xe9'\n" + DIRECT.encode()
    )
    out = run_cli("check", "--output-format", "json", cwd=tmp_path)
    assert codes(out) == [("early.py", "ST102", 4), ("late.py", "ST900", 3)]
