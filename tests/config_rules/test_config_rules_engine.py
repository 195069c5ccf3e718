"""The config rules inside the real engine: one scan per file shared by ST202/ST401/ST402,
trigger pre-filtering, ST900 for invalid YAML, options, and this repository's own gate."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from somatrace.checks.api import CheckSettings, check_paths
from somatrace.checks.config_files import MEMO_KEY, scan_text
from somatrace.checks.config_files.evaluate import located_violations, policy_for
from somatrace.checks.lint.config import Config
from somatrace.checks.lint.engine import make_context
from somatrace.rules.hardcoded_otlp_secret import HardcodedOtlpSecret
from somatrace.rules.sampling_below_policy import SamplingBelowPolicy
from somatrace.rules.trace_content_enabled_config import TraceContentEnabledConfig
from tests.helpers import REPO, run_cli, write_files, write_pyproject

MIXED = """
env:
  - name: TRACE_CONTENT
    value: "true"
  - name: LANGFUSE_SECRET_KEY
    value: sk-lf-0123456789abcdef
  - name: LANGFUSE_SAMPLING_RATE
    value: "0.5"
"""


def test_one_scan_per_file_shared_by_the_three_rules(tmp_path: Path) -> None:
    write_files(tmp_path, {"values.yaml": MIXED})
    path = tmp_path / "values.yaml"
    text = path.read_text(encoding="utf-8")
    ctx = make_context(path, "values.yaml", Config(root=tmp_path))
    found = {}
    scans = []
    for rule in (TraceContentEnabledConfig, HardcodedOtlpSecret, SamplingBelowPolicy):
        assert rule.applies_to(text.encode(), ctx)
        found[rule.CODE] = [(f.line, f.col) for f in rule(ctx).check_text(text, ctx)]
        scans.append(ctx.memo[MEMO_KEY])
    assert scans[0] is scans[1] is scans[2]
    assert found == {"ST202": [(3, 12)], "ST401": [(5, 12)], "ST402": [(7, 12)]}
    # The evaluation is memoised too: the three rules read one list of violations.
    assert [v.violation.code for v in located_violations(text, ctx)] == ["ST202", "ST401", "ST402"]


def test_unrelated_yaml_is_not_parsed(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {"select": ["ST202", "ST401", "ST402", "ST900"]})
    broken = "key: [unclosed\n"
    write_files(
        tmp_path,
        {
            "unrelated.yaml": broken,
            "related.yaml": "TRACE_CONTENT: true\n" + broken,
        },
    )
    findings = check_paths([tmp_path], CheckSettings(use_cache=False))
    assert [(Path(f.path).name, f.code) for f in findings] == [
        ("related.yaml", "ST202"),
        ("related.yaml", "ST900"),
    ]
    assert findings[0].line == 1
    assert findings[1].line in (2, 3)  # where the parser gave up: the flow sequence or EOF
    assert "line by line" in findings[1].message


def test_helm_template_gets_no_st900(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {"select": ["ST202", "ST900"]})
    write_files(
        tmp_path,
        {
            "chart/templates/cm.yaml": "data:\n  {{- toYaml .Values.env | nindent 2 }}\n  TRACE_CONTENT: on\n"
        },
    )
    findings = check_paths([tmp_path], CheckSettings(use_cache=False))
    assert [(f.line, f.col, f.code) for f in findings] == [(3, 18, "ST202")]


def test_noqa_in_config_files(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {"select": ["ST202"]})
    write_files(
        tmp_path,
        {
            ".env": "TRACE_CONTENT=true  # noqa: ST202\nTRACELOOP_TRACE_CONTENT=true\n",
            "values.yaml": "# somatrace: noqa\nenv: {TRACE_CONTENT: 'true'}\n",
        },
    )
    findings = check_paths([tmp_path], CheckSettings(use_cache=False))
    assert [(Path(f.path).name, f.line) for f in findings] == [(".env", 2)]


def test_a_virtualenv_named_env_is_not_a_dotenv_file(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {"select": ["ST202"]})
    write_files(tmp_path, {".env/pyvenv.cfg": "TRACE_CONTENT=true\n"})
    assert check_paths([tmp_path], CheckSettings(use_cache=False)) == []


def test_options_shape_the_policy() -> None:
    config = Config(
        root=Path("/"),
        values={"min-sampling-rate": 0.25, "content-switches": ["CAPTURE_PROMPTS"]},
    )
    policy = policy_for(config)
    assert policy.min_sampling_rate == Decimal("0.25")
    assert "CAPTURE_PROMPTS" in policy.content_switches
    assert "TRACELOOP_TRACE_CONTENT" in policy.content_switches
    assert not policy.require_endpoint


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("min-sampling-rate = 2", "between 0 and 1"),
        ('pii-words = "email"', "list of strings"),
        ("content-switches = [1]", "list of strings"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, setting: str, fragment: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.somatrace]\n{setting}\n", encoding="utf-8")
    write_files(tmp_path, {".env": "A=1\n"})
    out = run_cli("check", ".", "--no-cache", cwd=tmp_path)
    assert out.returncode == 2
    assert fragment in out.stderr


def test_scan_is_none_for_files_no_scanner_reads() -> None:
    assert scan_text("TRACE_CONTENT=true\n", "notes.txt") is None


def test_this_repository_passes_its_own_config_gate() -> None:
    """``somatrace check deploy/ .github/`` on this repository finds nothing."""
    paths = [p for p in ("deploy", ".github") if (REPO / p).is_dir()]
    assert paths, "deploy/ and .github/ are part of this repository"
    out = run_cli("check", *paths, "--no-cache", cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr


def test_example_monorepo_shows_each_config_rule() -> None:
    out = run_cli(
        "check", "examples/monorepo", "--no-cache", "--select", "ST202,ST401,ST402",
        "--output-format", "concise", cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    expected = {
        "ST202": "services/ingest-worker/deploy/values.yaml",
        "ST401": "services/rag-api/.env",
        "ST402": "services/billing/Dockerfile",
    }
    for code, path in expected.items():
        assert any(path in line and f" {code} " in line for line in lines), (code, out.stdout)
    assert "sk-lf-00000000" not in out.stdout
