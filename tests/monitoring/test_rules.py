"""The shipped alert rules and Alertmanager config: generated, fresh, accepted by promtool and
amtool, unit-tested with ``promtool test rules``, each rule with a runbook."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest
import yaml

from somatrace.checks.eval.config import EvalConfig
from somatrace.checks.monitoring import alert_rules, files
from tests.helpers import REPO

from .servers import AMTOOL, PROMTOOL, needs_binaries

PROMTOOL_TESTS = REPO / "tests" / "monitoring" / "promtool" / "rules_test.yaml"


def load(path: str) -> object:
    return yaml.safe_load((REPO / path).read_text(encoding="utf-8"))


def test_shipped_files_are_what_the_generator_renders() -> None:
    assert files.stale(REPO) == [], "run: python -m somatrace.checks.monitoring"
    done = subprocess.run(
        [sys.executable, "-m", "somatrace.checks.monitoring", "--check", "--root", str(REPO)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_a_stale_file_is_reported(tmp_path: object) -> None:
    root = REPO.parent / "unused"
    assert files.stale(root)  # nothing there: every file is missing
    out = files.write(tmp_path)  # type: ignore[arg-type]
    assert set(out) == set(files.rendered())
    target = tmp_path / files.RULES_FILE  # type: ignore[operator]
    target.write_text(target.read_text() + "# edited by hand\n")
    assert files.stale(tmp_path) == [files.RULES_FILE]  # type: ignore[arg-type]


def test_prometheus_rule_manifest_carries_the_same_groups() -> None:
    rules = load(str(files.RULES_FILE))
    manifest = load(str(files.PROMETHEUS_RULE_FILE))
    assert isinstance(manifest, dict) and manifest["kind"] == "PrometheusRule"
    assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
    assert manifest["spec"] == rules


def test_every_alert_has_for_severity_texts_and_a_runbook_page() -> None:
    rules = load(str(files.RULES_FILE))
    assert isinstance(rules, dict)
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert {a["alert"] for a in alerts} == {r.alert for r in alert_rules.ALL_RULES}
    for alert in alerts:
        assert re.fullmatch(r"\d+[smh]", alert["for"]), alert
        assert alert["labels"]["severity"] in {"warning", "critical"}
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
        url = alert["annotations"]["runbook_url"]
        assert url.startswith(alert_rules.RUNBOOK_BASE)
        page = REPO / "docs" / "runbooks" / url.removeprefix(alert_rules.RUNBOOK_BASE)
        assert page.is_file(), f"{alert['alert']}: no runbook {page}"
        text = page.read_text(encoding="utf-8")
        assert alert["alert"] in text
        for section in ("## What it means", "## First checks", "## Silence it"):
            assert section in text, f"{page.name} lacks {section!r}"


def test_the_rule_threshold_is_the_evaluations_default() -> None:
    defaults = {f.name: f.default for f in dataclasses.fields(EvalConfig)}
    assert defaults["regression_threshold"] == alert_rules.REGRESSION_THRESHOLD


@needs_binaries
def test_promtool_accepts_the_rules_file() -> None:
    done = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(REPO / files.RULES_FILE)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alert_rules.ALL_RULES)} rules found" in done.stdout


@needs_binaries
def test_promtool_unit_tests_of_every_alert_pass() -> None:
    tested = set(re.findall(r"alertname: (\w+)", PROMTOOL_TESTS.read_text(encoding="utf-8")))
    assert tested == {r.alert for r in alert_rules.ALL_RULES}, "an alert without a unit test"
    done = subprocess.run(
        [str(PROMTOOL), "test", "rules", str(PROMTOOL_TESTS)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@needs_binaries
def test_promtool_unit_tests_fail_when_the_rule_is_wrong(tmp_path: object) -> None:
    """The unit tests can fail: with a 3 % threshold the 4 % drop of `calm` fires too."""
    broken = (REPO / files.RULES_FILE).read_text(encoding="utf-8").replace("> 0.05", "> 0.03")
    rules = tmp_path / "deploy" / "monitoring" / "prometheus-rules.yaml"  # type: ignore[operator]
    rules.parent.mkdir(parents=True)
    rules.write_text(broken)
    tests = tmp_path / "tests" / "monitoring" / "promtool" / "rules_test.yaml"  # type: ignore[operator]
    tests.parent.mkdir(parents=True)
    tests.write_text(PROMTOOL_TESTS.read_text(encoding="utf-8"))
    done = subprocess.run(
        [str(PROMTOOL), "test", "rules", str(tests)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert 'service="calm"' in done.stdout + done.stderr


@needs_binaries
def test_amtool_accepts_the_alertmanager_config() -> None:
    done = subprocess.run(
        [str(AMTOOL), "check-config", str(REPO / files.ALERTMANAGER_FILE)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 inhibit rules" in done.stdout and "2 receivers" in done.stdout


@pytest.mark.parametrize("path", ["deploy/monitoring"])
def test_deploy_validate_accepts_the_monitoring_directory(path: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "somatrace.checks.cli.main", "deploy", "validate", path],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
