"""The shipped schemas are valid JSON Schema and accept what they must; cron syntax as a
CronJob accepts it."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from somatrace.checks.deploy import schemas
from somatrace.checks.deploy.cron import schedule_problem
from tests.deploy.conftest import REPO

SCHEMAS = REPO / "checks/deploy/schemas"


@pytest.mark.parametrize("path", sorted(SCHEMAS.rglob("*.json")), ids=lambda p: p.name)
def test_every_shipped_schema_is_valid_draft_2020_12(path) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_schema_origins_are_documented() -> None:
    readme = (SCHEMAS / "README.md").read_text()
    for path in SCHEMAS.rglob("*.json"):
        assert f"`{path.relative_to(SCHEMAS).as_posix()}`" in readme, path


def test_crd_schemas_are_found_by_api_version_and_kind() -> None:
    assert schemas.crd_schema("external-secrets.io/v1", "ExternalSecret")["title"].startswith(
        "ExternalSecret"
    )
    assert schemas.crd_schema("external-secrets.io/v1", "SecretStore")["title"].startswith(
        "SecretStore"
    )
    assert schemas.crd_schema("external-secrets.io/v1beta1", "ExternalSecret") is None
    assert schemas.crd_schema("v1", "ConfigMap") is None


def test_external_secret_schema_rejects_what_eso_rejects() -> None:
    validator = jsonschema.Draft202012Validator(
        schemas.crd_schema("external-secrets.io/v1", "ExternalSecret")
    )
    good = yaml.safe_load((REPO / "deploy/k8s/externalsecrets.yaml").read_text().split("---")[0])
    assert list(validator.iter_errors(good)) == []
    bad = json.loads(json.dumps(good))
    bad["spec"]["data"][0]["secretKey"] = "not allowed/slash"
    del bad["spec"]["data"][1]["remoteRef"]["key"]
    messages = sorted(e.message for e in validator.iter_errors(bad))
    assert any("does not match" in m for m in messages) and any(
        "'key' is a required property" in m for m in messages
    )


@pytest.mark.parametrize(
    "schedule",
    [
        "0 2 * * *",
        "*/15 * * * *",
        "30 3 * * 0",
        "0 0 1 JAN,JUL *",
        "0 9 * * MON-FRI",
        "@daily",
        "@hourly",
        "5 4 ? * SUN",
        "0 0-23/2 * * *",
        "0 0 * * 7",
    ],
)
def test_valid_schedules(schedule: str) -> None:
    assert schedule_problem(schedule) is None


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("0 24 * * *", "hour 24 is out of range 0-23"),
        ("60 * * * *", "minute 60 is out of range 0-59"),
        ("0 0 0 * *", "day of month 0 is out of range 1-31"),
        ("0 0 * 13 *", "month 13 is out of range 1-12"),
        ("0 0 * * 8", "day of week 8 is out of range 0-7"),
        ("* * * *", "expected 5 fields"),
        ("*/0 * * * *", "zero step"),
        ("0 5-1 * * *", "runs backwards"),
        ("? * * * *", "'?' is only allowed"),
        ("0 0 * * FUNDAY", "'FUNDAY' is not a number"),
        ("@sometimes", "unknown macro"),
        ("CRON_TZ=UTC 0 2 * * *", "use spec.timeZone"),
        ("0 2 * * * *", "expected 5 fields"),
    ],
)
def test_invalid_schedules(schedule: str, problem: str) -> None:
    found = schedule_problem(schedule)
    assert found is not None and problem in found
