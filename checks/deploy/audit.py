"""``somatrace audit-cluster``: the env-var tracing policy applied to a live cluster.

Reads Deployments, StatefulSets and CronJobs (and the ConfigMaps their ``envFrom`` names) in
the given namespaces with the ``kubernetes`` client, serialises each object to the same
camelCase dict a manifest file gives, and judges it with
:func:`somatrace.checks.deploy.workloads.evaluate_workload` — the code path the offline
validator tests on manifests. RBAC it needs: deploy/k8s/rbac-audit.yaml (get/list only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from somatrace.checks.deploy.workloads import configmap_data, evaluate_workload
from somatrace.checks.policy.environ import DEFAULT_POLICY, EnvPolicy


@dataclass(frozen=True, slots=True, order=True)
class AuditFinding:
    namespace: str
    kind: str
    name: str
    container: str
    code: str
    message: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.kind}/{self.name}[{self.container}]"
        return f"{where}: {self.code} {self.message}"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def audit_objects(
    objects: Iterable[Mapping[str, Any]],
    configmaps: Iterable[Mapping[str, Any]] = (),
    policy: EnvPolicy = DEFAULT_POLICY,
) -> list[AuditFinding]:
    """Findings for workloads given as dicts (as read from a cluster or a file)."""
    table = configmap_data(list(configmaps))
    findings = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "default")
        for finding in evaluate_workload(obj, table, policy, namespace):
            findings.append(
                AuditFinding(
                    namespace,
                    str(obj.get("kind")),
                    str(meta.get("name")),
                    finding.container,
                    finding.code,
                    finding.message,
                )
            )
    return sorted(findings)


# kind -> (API class name, list method) of the kubernetes client
WORKLOAD_READERS: tuple[tuple[str, str, str, str], ...] = (
    ("Deployment", "apps/v1", "AppsV1Api", "list_namespaced_deployment"),
    ("StatefulSet", "apps/v1", "AppsV1Api", "list_namespaced_stateful_set"),
    ("CronJob", "batch/v1", "BatchV1Api", "list_namespaced_cron_job"),
)


def read_cluster(
    api_client: Any, namespaces: Iterable[str], warn: Callable[[str], None] = lambda _m: None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Workloads and ConfigMaps of ``namespaces`` as manifest-shaped dicts."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    workloads: list[dict[str, Any]] = []
    configmaps: list[dict[str, Any]] = []
    for namespace in namespaces:
        for kind, api_version, api_name, method in WORKLOAD_READERS:
            api = getattr(client, api_name)(api_client)
            for item in getattr(api, method)(namespace).items:
                workloads.append(to_manifest(api_client, item, kind, api_version))
        try:
            for item in client.CoreV1Api(api_client).list_namespaced_config_map(namespace).items:
                configmaps.append(to_manifest(api_client, item, "ConfigMap", "v1"))
        except ApiException as exc:
            if exc.status != 403:
                raise
            warn(
                f"cannot list ConfigMaps in {namespace} (403): "
                "envFrom ConfigMaps are not resolved there"
            )
    return workloads, configmaps


def to_manifest(api_client: Any, item: Any, kind: str, api_version: str) -> dict[str, Any]:
    """A client model object as the dict its manifest would be (camelCase keys, no nulls).
    Items of a list response carry no ``kind``/``apiVersion``: they are filled in."""
    data: dict[str, Any] = api_client.sanitize_for_serialization(item)
    data.setdefault("kind", kind)
    data.setdefault("apiVersion", api_version)
    return data


def api_client_from_config(kubeconfig: str | None, context: str | None, in_cluster: bool) -> Any:
    """A client configured the usual ways; raises ``ConfigException`` when there is none."""
    from kubernetes import client, config

    if in_cluster:
        config.load_incluster_config()
        return client.ApiClient()
    configuration = client.Configuration()
    config.load_kube_config(
        config_file=kubeconfig, context=context, client_configuration=configuration
    )
    return client.ApiClient(configuration)
