"""`somatrace audit-cluster`. No Kubernetes API server can run on these machines, so the audit is
proved in two halves: (1) what it does with objects the `kubernetes` client returns — real
client model objects, serialised by the client's own code — gives exactly the findings the
offline validator gives for the same manifests; (2) the command line really tries to reach a
cluster and fails cleanly when there is none. Reading from a live API server is not tested."""

from __future__ import annotations

import copy
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from somatrace.checks.deploy.audit import audit_objects, to_manifest
from somatrace.checks.deploy.workloads import evaluate_workload
from tests.deploy.conftest import REPO
from tests.helpers import run_cli

MODEL = {
    "CronJob": "V1CronJob",
    "Deployment": "V1Deployment",
    "StatefulSet": "V1StatefulSet",
    "ConfigMap": "V1ConfigMap",
}


def manifests() -> list[dict[str, Any]]:
    docs = []
    for path in (REPO / "deploy/k8s").glob("*.yaml"):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for env in ("dev", "prod"):
        values = yaml.safe_load((REPO / f"deploy/helm/langfuse/values-{env}.yaml").read_text())
        docs.extend(values["extraManifests"])
    return docs


def through_the_client(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as the kubernetes client would hand it to the audit: deserialised into the
    client's model class, then serialised back by the client (what read_cluster does with
    every listed item, which come without kind/apiVersion)."""
    api = client.ApiClient()
    model = api._ApiClient__deserialize(
        copy.deepcopy(manifest), MODEL[manifest["kind"]]
    )  # the client's deserializer
    model.kind = None
    model.api_version = None
    return to_manifest(api, model, manifest["kind"], manifest["apiVersion"])


def violating(cronjob: dict[str, Any]) -> dict[str, Any]:
    broken = copy.deepcopy(cronjob)
    container = broken["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    env = [e for e in container["env"] if e["name"] != "OTEL_EXPORTER_OTLP_ENDPOINT"]
    env += [
        {"name": "TRACE_CONTENT", "value": "yes"},
        {"name": "OTEL_TRACES_SAMPLER", "value": "traceidratio"},
        {"name": "OTEL_TRACES_SAMPLER_ARG", "value": "0.05"},
        {"name": "OTEL_EXPORTER_OTLP_HEADERS", "value": "Authorization=Basic cGstbGYtYTpzay1sZi1i"},
    ]
    container["env"] = env
    return broken


def nightly_eval() -> dict[str, Any]:
    (job,) = [
        m
        for m in manifests()
        if m["kind"] == "CronJob" and m["metadata"]["name"] == "nightly-rag-eval"
    ]
    return job


def test_workloads_survive_the_client_round_trip_unchanged() -> None:
    for manifest in manifests():
        if manifest["kind"] in MODEL:
            assert through_the_client(manifest) == manifest


@pytest.mark.parametrize("make", [lambda j: j, violating], ids=["compliant", "violating"])
def test_audit_reports_what_the_validator_reports(make: Any) -> None:
    cronjob = make(nightly_eval())
    offline = evaluate_workload(cronjob)
    audited = audit_objects([through_the_client(cronjob)])
    assert sorted((f.code, f.message) for f in offline) == sorted(
        (f.code, f.message) for f in audited
    )


def test_violations_found_from_client_objects() -> None:
    findings = audit_objects([through_the_client(violating(nightly_eval()))])
    assert sorted(f.code for f in findings) == ["ST202", "ST401", "ST402", "ST403"]
    assert all(
        f.namespace == "llm-eval" and f.name == "nightly-rag-eval" and f.container == "eval"
        for f in findings
    )
    assert not any("cGstbGYtYTpzay1sZi1i" in str(f) for f in findings)
    assert str(findings[0]).startswith("llm-eval/CronJob/nightly-rag-eval[eval]: ST")


def test_env_from_config_map_is_resolved() -> None:
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="chat-api", namespace="llm-services"),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels={"app": "chat-api"}),
            template=client.V1PodTemplateSpec(
                spec=client.V1PodSpec(
                    containers=[
                        client.V1Container(
                            name="api",
                            image="chat-api:1",
                            env_from=[
                                client.V1EnvFromSource(
                                    config_map_ref=client.V1ConfigMapEnvSource(name="otel-defaults")
                                )
                            ],
                        )
                    ]
                )
            ),
        ),
    )
    api = client.ApiClient()
    (defaults,) = [
        m
        for m in manifests()
        if m["kind"] == "ConfigMap"
        and m["metadata"]["name"] == "otel-defaults"
        and m["metadata"]["namespace"] == "llm-services"
    ]
    configmap = to_manifest(
        api, api._ApiClient__deserialize(defaults, "V1ConfigMap"), "ConfigMap", "v1"
    )
    workload = to_manifest(api, deployment, "Deployment", "apps/v1")
    assert (
        audit_objects([workload], [configmap]) == []
    )  # endpoint, sampling, content off: all from the ConfigMap
    findings = audit_objects([workload], [])  # ConfigMap not readable: no guess about the endpoint
    assert findings == []
    bad = copy.deepcopy(configmap)
    bad["data"]["OTEL_TRACES_SAMPLER_ARG"] = "0.5"
    (finding,) = audit_objects([workload], [bad])
    assert finding.code == "ST402" and finding.kind == "Deployment" and finding.container == "api"


def test_exempt_workloads_only_skip_the_endpoint_rule() -> None:
    (retention,) = [m for m in manifests() if m["metadata"]["name"] == "langfuse-retention"][:1]
    assert audit_objects([through_the_client(retention)]) == []
    broken = copy.deepcopy(retention)
    broken["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "TRACELOOP_TRACE_CONTENT", "value": "1"}
    )
    assert [f.code for f in audit_objects([through_the_client(broken)])] == ["ST202"]


def test_cli_without_kubeconfig_is_a_usage_error(tmp_path: Path) -> None:
    done = run_cli(
        "audit-cluster",
        "-n",
        "llm-services",
        cwd=tmp_path,
        env={"KUBECONFIG": str(tmp_path / "absent"), "HOME": str(tmp_path)},
    )
    assert done.returncode == 2
    assert "no usable Kubernetes configuration" in done.stderr


def test_cli_reports_an_unreachable_cluster(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "nowhere",
                "clusters": [
                    {"name": "nowhere", "cluster": {"server": f"http://127.0.0.1:{port}"}}
                ],
                "users": [{"name": "auditor", "user": {"token": "not-a-real-token"}}],
                "contexts": [
                    {"name": "nowhere", "context": {"cluster": "nowhere", "user": "auditor"}}
                ],
            }
        )
    )
    done = run_cli(
        "audit-cluster", "-n", "llm-services", "--kubeconfig", str(kubeconfig), cwd=tmp_path
    )
    assert done.returncode == 2
    assert "cannot reach the API server" in done.stderr
