"""One in-cluster endpoint: the SDK default, the documented template, the services' ConfigMaps,
the nightly job and the Helm release that serves it all name the same URL and namespace."""

from __future__ import annotations

import re

import yaml

from somatrace.policy import (
    DEFAULT_ENDPOINT,
    LANGFUSE_NAMESPACE,
    LANGFUSE_OTLP_PATH,
    LANGFUSE_RELEASE,
    LANGFUSE_WEB_PORT,
)
from somatrace.settings import load_settings

from .conftest import REPO


def env_template_value(name: str) -> str:
    text = (REPO / "docs/observability/.env.template").read_text(encoding="utf-8")
    match = re.search(rf"^{name}=(.*)$", text, re.MULTILINE)
    assert match, f"{name} is not in the template"
    return match.group(1).strip()


def test_default_endpoint_is_our_deploys_langfuse_web_service() -> None:
    assert DEFAULT_ENDPOINT == (
        "http://langfuse-web.langfuse.svc.cluster.local:3000/api/public/otel"
    )
    settings = load_settings("svc", env={})
    assert settings.endpoint == DEFAULT_ENDPOINT
    assert settings.traces_endpoint == DEFAULT_ENDPOINT + "/v1/traces"


def test_template_configmaps_and_jobs_agree_with_the_sdk_default() -> None:
    assert env_template_value("OTEL_EXPORTER_OTLP_ENDPOINT") == DEFAULT_ENDPOINT
    config_maps = list(
        yaml.safe_load_all((REPO / "deploy/k8s/otel-defaults.yaml").read_text(encoding="utf-8"))
    )
    assert len(config_maps) >= 2
    for config_map in config_maps:
        assert config_map["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == DEFAULT_ENDPOINT
    cronjob = (REPO / "deploy/k8s/nightly-eval-cronjob.yaml").read_text(encoding="utf-8")
    endpoints = re.findall(r"OTEL_EXPORTER_OTLP_ENDPOINT\s*\n\s*value:\s*(\S+)", cronjob)
    assert endpoints == [DEFAULT_ENDPOINT]


def test_the_helm_release_serves_that_url() -> None:
    helm = REPO / "deploy/helm/langfuse"
    documents = list(yaml.safe_load_all((helm / "helmfile.yaml").read_text(encoding="utf-8")))
    releases = [release for document in documents for release in document.get("releases", [])]
    (release,) = [r for r in releases if r["chart"] == "langfuse/langfuse"]
    # The chart names the web Service "<release>-web".
    assert (release["name"], release["namespace"]) == (LANGFUSE_RELEASE, LANGFUSE_NAMESPACE)
    values = yaml.safe_load((helm / "values-common.yaml").read_text(encoding="utf-8"))
    assert values["langfuse"]["web"]["service"]["port"] == LANGFUSE_WEB_PORT
    assert DEFAULT_ENDPOINT in (helm / "values-common.yaml").read_text(encoding="utf-8")
    namespaces = {
        document["metadata"]["name"]
        for document in yaml.safe_load_all(
            (REPO / "deploy/k8s/namespaces.yaml").read_text(encoding="utf-8")
        )
    }
    assert LANGFUSE_NAMESPACE in namespaces
    assert DEFAULT_ENDPOINT.endswith(LANGFUSE_OTLP_PATH)


def test_no_file_names_the_old_ingester_or_another_namespace_for_langfuse() -> None:
    stale = re.compile(r"langfuse-ingester|langfuse-web\.observability|\.observability:4318")
    for folder in ("sdk", "docs", "deploy", "checks/smoke", "checks/runtime", "README.md"):
        root = REPO / folder
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            if path.suffix in (".pyc", ".gguf"):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not stale.search(text), f"{path.relative_to(REPO)} names a stale endpoint"
