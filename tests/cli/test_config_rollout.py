"""Configuration a platform team can roll out: unknown selectors, templated pyproject.toml,
``extend`` inheritance, ``--config`` from the project root, the repository boundary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import git, init_repo, run_cli, write_files, write_pyproject

APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"
DIRECT = 'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="x")\n'
PLAIN_SERVER = "import uvicorn\n\n\ndef main():\n    print('serving')\n"


# ---------------------------------------------------------------------- unknown selectors
@pytest.mark.parametrize(
    "args",
    [["--select", "ST999"], ["--ignore", "ST999"], ["--extend-select", "ST1,ST99"]],
)
def test_unknown_selector_on_the_command_line_is_exit_2(tmp_path: Path, args: list[str]) -> None:
    write_files(tmp_path, {"a.py": DIRECT})
    out = run_cli("check", ".", *args, cwd=tmp_path)
    assert out.returncode == 2, out.stdout
    assert "Unknown rule selector: `ST99" in out.stderr
    assert "All checks passed" not in out.stdout


@pytest.mark.parametrize(
    "table",
    [
        'select = ["ST999"]',
        'ignore = ["ST1", "ST998"]',
        'extend-select = ["ST5"]',
        'per-file-ignores = { "a.py" = ["ST777"] }',
    ],
)
def test_unknown_selector_in_config_is_exit_2(tmp_path: Path, table: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.somatrace]\n{table}\n", encoding="utf-8")
    write_files(tmp_path, {"a.py": DIRECT})
    out = run_cli("check", ".", cwd=tmp_path)
    assert out.returncode == 2
    assert "Unknown rule selector" in out.stderr and "pyproject.toml" in out.stderr


def test_known_prefixes_and_codes_are_accepted(tmp_path: Path) -> None:
    write_files(tmp_path, {"a.py": DIRECT})
    for selector in ("ST", "ST1", "ST102", "ALL", "DV"):
        out = run_cli("check", ".", "--select", selector, "--no-cache", cwd=tmp_path)
        assert out.returncode in (0, 1), (selector, out.stderr)


def test_unknown_noqa_code_is_a_warning(tmp_path: Path) -> None:
    write_files(tmp_path, {"a.py": DIRECT.replace('"x")', '"x")  # noqa: PLC0415, ST999')})
    out = run_cli("check", ".", cwd=tmp_path)
    assert out.returncode == 1  # not suppressed: ST999 names no rule
    assert "a.py:2:" in out.stderr and "unknown rule code `ST999`" in out.stderr


def test_unknown_noqa_codes_come_from_the_analysis_cold_and_warm(tmp_path: Path) -> None:
    """The workers read the directives of every file with a finding (a Python module, a
    config file), and the cache keeps what they found: a warm run warns the same, once."""
    write_files(
        tmp_path,
        {
            "a.py": DIRECT.replace('"x")', '"x")  # noqa: ST999, F401'),
            "b.py": "x = 1  # noqa: ST998\n",  # no finding: not audited, as before
            ".env": "TRACELOOP_TRACE_CONTENT=true  # noqa: ST997\n",
        },
    )
    warnings = []
    for _ in range(2):
        out = run_cli("check", ".", cwd=tmp_path)
        assert out.returncode == 1
        warnings.append(sorted(line for line in out.stderr.splitlines() if "unknown rule" in line))
    assert warnings[0] == warnings[1]
    assert warnings[0] == [
        "warning: " + w
        for w in [
            ".env:1:31: unknown rule code `ST997` in `# noqa` (Unknown rule selector)",
            "a.py:2:31: unknown rule code `ST999` in `# noqa` (Unknown rule selector)",
        ]
    ]
    assert "PLC0415" not in out.stderr  # Ruff's code: Ruff's to know


# ---------------------------------------------------------------- templated pyproject.toml
def test_templated_pyproject_is_skipped_and_said_with_verbose(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {})
    write_files(
        tmp_path,
        {
            "templates/service/pyproject.toml": '[project]\nname = "{{ cookiecutter.name }}"\n{% if x %}\n',
            "templates/service/hooks/post_gen_project.py": "print('generated')\n",
            "lib/direct.py": DIRECT,
        },
    )
    out = run_cli("check", ".", "--verbose", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "lib/direct.py:2:1: ST102" in out.stdout
    assert "skipped" in out.stderr and "templates/service/pyproject.toml" in out.stderr
    quiet = run_cli("check", ".", cwd=tmp_path)
    assert "templates/service/pyproject.toml" not in quiet.stderr


def test_broken_somatrace_table_names_file_line_and_column(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {})
    write_files(
        tmp_path,
        {
            "svc/pyproject.toml": '[project]\nname = "svc"\n\n[tool.somatrace]\nselect = ["ST1"] x\n',
            "svc/a.py": DIRECT,
            "end/pyproject.toml": '[tool.somatrace]\nselect = ["ST1"\n',
            "end/a.py": DIRECT,
        },
    )
    out = run_cli("check", "svc", cwd=tmp_path)
    assert out.returncode == 2
    assert f"{tmp_path / 'svc/pyproject.toml'}:5:18: invalid TOML" in out.stderr
    out = run_cli("check", "end", cwd=tmp_path)
    assert out.returncode == 2
    assert f"{tmp_path / 'end/pyproject.toml'}:3:1: invalid TOML" in out.stderr


def test_eval_table_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.somatrace]\nselect = ["ST1"]\n\n[tool.somatrace.eval]\nhistory = "h.jsonl"\n',
        encoding="utf-8",
    )
    write_files(tmp_path, {"a.py": DIRECT})
    out = run_cli("check", ".", cwd=tmp_path)
    assert out.returncode == 1 and "ST102" in out.stdout, out.stderr


# ----------------------------------------------------------------------- extend inheritance
@pytest.fixture
def platform(tmp_path: Path) -> Path:
    """A monorepo: the platform's policy at the root, one service that extends it, one that
    has its own config without `extend`."""
    root = tmp_path / "mono"
    root.mkdir()
    init_repo(root)
    write_pyproject(
        root,
        {
            "entrypoints": ["services/*/app/server.py"],
            "exclude": ["generated"],
            "required-tags": ["tenant_id", "cost_center"],
            "ignore": ["ST203"],
        },
        name="platform",
    )
    (root / "services/chat").mkdir(parents=True)
    (root / "services/chat/pyproject.toml").write_text(
        '[project]\nname = "chat"\n\n[tool.somatrace]\nextend = "../../pyproject.toml"\n'
        'extend-exclude = ["scratch"]\nextend-ignore = ["ST402"]\n',
        encoding="utf-8",
    )
    (root / "services/solo").mkdir(parents=True)
    (root / "services/solo/pyproject.toml").write_text(
        '[project]\nname = "solo"\n\n[tool.somatrace]\nselect = ["ST1"]\n', encoding="utf-8"
    )
    write_files(
        root,
        {
            "services/chat/app/server.py": PLAIN_SERVER,
            "services/chat/generated/x.py": DIRECT,
            "services/chat/scratch/y.py": DIRECT,
            "services/solo/app/server.py": PLAIN_SERVER,
        },
    )
    git(root, "add", "-A")
    git(root, "commit", "-qm", "platform")
    return root


def test_extend_inherits_the_platform_policy(platform: Path) -> None:
    out = run_cli("check", ".", "--output-format", "json", cwd=platform)
    assert out.returncode == 1, out.stderr
    found = {(r["path"], r["code"]) for r in json.loads(out.stdout)}
    # the inherited entrypoint glob (rebased to the service root) makes server.py an entrypoint
    assert ("services/chat/app/server.py", "ST101") in found
    # inherited exclude and the service's own extend-exclude both hold
    assert not any("generated" in p or "scratch" in p for p, _ in found)
    # the service without `extend` inherits nothing: server.py is no entrypoint there
    assert not any(p.startswith("services/solo") for p, _ in found)


def test_show_settings_says_where_each_value_came_from(platform: Path) -> None:
    chat = run_cli("check", "--show-settings", "services/chat/app/server.py", cwd=platform)
    assert chat.returncode == 0, chat.stderr
    lines = {line.split("=")[0].strip(): line for line in chat.stdout.splitlines()}
    root_file, chat_file = (
        str(platform / "pyproject.toml"),
        str(platform / "services/chat/pyproject.toml"),
    )
    assert '["/app/server.py"]' in lines["entrypoints"] and root_file in lines["entrypoints"]
    assert '"tenant_id", "cost_center"' in lines["required-tags"]
    assert '["generated", "scratch"]' in lines["exclude"] and chat_file in lines["exclude"]
    assert '["ST203", "ST402"]' in lines["ignore"]
    assert lines["max-file-size"].endswith("# default")
    assert f"# extends: {root_file}" in chat.stdout

    solo = run_cli(
        "check",
        "--show-settings",
        "services/solo/app/server.py",
        "--output-format",
        "json",
        cwd=platform,
    )
    view = json.loads(solo.stdout)
    assert view["not_inherited"] == root_file and view["extends"] == []
    assert view["settings"]["required-tags"]["origin"] == "default"
    assert view["settings"]["select"] == {
        "value": ["ST1"],
        "origin": str(platform / "services/solo/pyproject.toml"),
    }


def test_extend_cycle_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.somatrace]\nextend = "a/pyproject.toml"\n')
    (tmp_path / "a/pyproject.toml").write_text('[tool.somatrace]\nextend = "../pyproject.toml"\n')
    write_files(tmp_path, {"x.py": DIRECT})
    out = run_cli("check", ".", cwd=tmp_path)
    assert out.returncode == 2 and "cycle" in out.stderr


def test_extend_never_leaves_the_repository(tmp_path: Path) -> None:
    (tmp_path / "outside.toml").write_text('select = ["ST1"]\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    init_repo(repo)
    (repo / "pyproject.toml").write_text('[tool.somatrace]\nextend = "../outside.toml"\n')
    (repo / "link.toml").symlink_to(tmp_path / "outside.toml")
    write_files(
        repo,
        {
            "a.py": DIRECT,
            "sub/pyproject.toml": '[tool.somatrace]\nextend = "../link.toml"\n',
            "sub/b.py": DIRECT,
        },
    )
    out = run_cli("check", "a.py", cwd=repo)
    assert out.returncode == 2 and "`extend` points outside the repository" in out.stderr
    (repo / "pyproject.toml").write_text("[tool.somatrace]\n")
    linked = run_cli("check", "sub/b.py", cwd=repo)
    assert linked.returncode == 2 and "outside the repository" in linked.stderr


# ----------------------------------------------------- --config: patterns from the project root
def test_explicit_config_patterns_resolve_from_the_working_directory(tmp_path: Path) -> None:
    write_files(tmp_path, {"services/billing/app/server.py": PLAIN_SERVER})
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci/somatrace.toml").write_text(
        'entrypoints = ["services/*/app/server.py", "apps/*/main.py"]\n'
        'per-file-ignores = { "nowhere/**" = ["ST101"] }\n'
    )
    out = run_cli("check", ".", "--config", "ci/somatrace.toml", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "services/billing/app/server.py:1:1: ST101" in out.stdout
    assert "'apps/*/main.py' matches no file" in out.stderr
    assert "'nowhere/**' matches no file" in out.stderr
    assert "'services/*/app/server.py' matches no file" not in out.stderr


# -------------------------------------------------------- the repository is where search stops
def test_config_above_the_repository_does_not_apply(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {"select": ["ST2"]}, name="outside")
    repo = tmp_path / "repo"
    repo.mkdir()
    init_repo(repo)
    write_files(repo, {"lib/direct.py": DIRECT})
    out = run_cli("check", ".", cwd=repo)
    assert out.returncode == 1, out.stderr
    assert "lib/direct.py:2:1: ST102" in out.stdout  # the defaults, not the outside select
    shown = run_cli(
        "check", "--show-settings", "lib/direct.py", "--output-format", "json", cwd=repo
    )
    assert json.loads(shown.stdout)["config_file"] is None
