"""The shipped dashboards against Grafana's dashboard JSON model (the JSON Schema derived from
Grafana's source, see checks/monitoring/schemas), their datasource references, and the
provisioning ConfigMap."""

from __future__ import annotations

import json
import re
from importlib import resources

import jsonschema
import pytest
import yaml

from somatrace import metric_names
from somatrace.checks.monitoring import dashboards, files
from tests.helpers import REPO

SCHEMA = json.loads(
    resources.files("somatrace.checks.monitoring")
    .joinpath("schemas/grafana-dashboard.schema.json")
    .read_text(encoding="utf-8")
)
SHIPPED = {
    d.uid: json.loads((REPO / files.DASHBOARDS_DIR / d.file_name).read_text(encoding="utf-8"))
    for d in dashboards.DASHBOARDS
}


def test_the_four_dashboards_are_shipped() -> None:
    titles = {d["title"] for d in SHIPPED.values()}
    assert titles == {
        "somatrace / LLM cost",
        "somatrace / LLM latency",
        "somatrace / errors and span losses",
        "somatrace / RAG quality",
    }


@pytest.mark.parametrize("uid", sorted(SHIPPED))
def test_dashboard_validates_against_grafanas_model(uid: str) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(SHIPPED[uid])


def test_the_schema_rejects_what_grafana_rejects() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    good = SHIPPED["somatrace-cost"]
    bad_panels = [
        {**good["panels"][0], "type": "graph3d"},  # no such panel plugin
        {**good["panels"][0], "gridPos": {"h": 8, "w": 25, "x": 0, "y": 0}},  # wider than 24
        {**good["panels"][0], "targets": [{"refId": "A"}]},  # a Prometheus query without expr
        {**good["panels"][0], "datasource": {"type": "prometheus", "name": "x"}},  # not a ref
        {**good["panels"][0], "colour": "red"},  # #Panel is closed
    ]
    for panel in bad_panels:
        assert not validator.is_valid({**good, "panels": [panel]}), panel
    assert not validator.is_valid({k: v for k, v in good.items() if k != "schemaVersion"})


@pytest.mark.parametrize("uid", sorted(SHIPPED))
def test_every_panel_and_query_uses_the_prometheus_datasource_variable(uid: str) -> None:
    dashboard = SHIPPED[uid]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"  # the datasource plugin id
    reference = {"type": "prometheus", "uid": "${datasource}"}
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"] == reference, panel["title"]
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        for target in panel["targets"]:
            assert target["datasource"] == reference
            # every metric a query names is one somatrace declares
            for name in set(re.findall(r"somagent_observability_\w+", target["expr"])):
                assert name in KNOWN_SERIES, f"{panel['title']}: unknown metric {name}"
    for name, variable in variables.items():
        if name != "datasource":
            assert variable["datasource"] == reference
            assert f"${name}" in json.dumps(dashboard["panels"]), f"variable {name} unused"


KNOWN_SERIES = {
    series
    for metric in metric_names.ALL_METRICS
    for series in (metric.series, metric.bucket, metric.sum, metric.count)
}


def test_configmap_provisions_every_dashboard_for_grafanas_sidecar() -> None:
    docs = list(yaml.safe_load_all((REPO / files.CONFIGMAP_FILE).read_text(encoding="utf-8")))
    (configmap,) = docs
    assert configmap["kind"] == "ConfigMap"
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert {json.loads(text)["uid"] for text in configmap["data"].values()} == set(SHIPPED)
    for name, text in configmap["data"].items():
        assert json.loads(text) == SHIPPED[name.removesuffix(".json")]
