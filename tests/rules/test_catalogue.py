"""One catalogue: every code any command prints is a registered rule with its documentation,
its generated page is fresh, and what `rules`, `explain` and the fixers say agrees."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from somatrace.checks.cli.main import main
from somatrace.checks.lint import codes
from somatrace.fixers import all_fixers
from somatrace.rules import all_rules, rule_by_code
from tests.helpers import REPO

CODES = {
    value
    for name, value in vars(codes).items()
    if name.isupper() and isinstance(value, str) and re.fullmatch(r"[A-Z]{2}[0-9]{3}", value)
}


def test_every_code_is_a_rule_and_every_rule_a_code() -> None:
    registered = {rule.CODE for rule in all_rules()}
    assert registered == CODES
    assert len(registered) == len(all_rules())


@pytest.mark.parametrize("code", sorted(CODES))
def test_explain_knows_every_code(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", code]) == 0
    out = capsys.readouterr().out
    rule = rule_by_code(code)
    assert rule is not None
    assert code in out and rule.NAME in out
    assert "## What it does" in out


def test_rules_json_lists_every_rule_with_its_fix_availability(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["rules", "--output-format", "json"]) == 0
    listed = {entry["code"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert set(listed) == CODES
    for code, entry in listed.items():
        rule = rule_by_code(code)
        assert rule is not None
        assert entry["fix"] == rule.FIX.value
        assert entry["fixable"] is rule.FIX.fixable


def test_each_fixer_names_a_rule_that_declares_a_fix() -> None:
    for code, fixer in all_fixers().items():
        assert code == fixer.RULE.CODE
        assert fixer.RULE.FIX.fixable, f"{code} has a fixer but declares no fix"
        rule_module = fixer.RULE.__module__.rsplit(".", 1)[-1]
        assert type(fixer).__module__.rsplit(".", 1)[-1] == rule_module, (
            "a fixer lives in the module named after its rule"
        )


def test_every_rule_that_declares_a_fix_has_its_fixer_module() -> None:
    """Fix availability is declared once, on the rule; the fixer must exist exactly then, as
    fixers/<rule module>.py (LibCST for Python rules, text edits for config-file rules)."""
    fixers = all_fixers()
    for rule in all_rules():
        if rule.FIX.fixable:
            assert rule.CODE in fixers, f"{rule.CODE} declares {rule.FIX.value} but has no fixer"
        else:
            assert rule.CODE not in fixers, f"{rule.CODE} declares no fix but has a fixer"


def test_generated_rule_pages_and_readme_table_are_fresh() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "generate_rule_docs.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, (
        "stale rule docs; run `python scripts/generate_rule_docs.py`:\n" + done.stderr
    )
