"""Container environments of Kubernetes workloads, judged by the env-var tracing policy.

One code path for both sources: a manifest parsed from disk and an object read from a live
cluster (the ``kubernetes`` client's models serialised with ``sanitize_for_serialization``)
are the same camelCase dicts, so ``somatrace deploy validate`` and ``somatrace audit-cluster``
report the same findings for the same workload.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from somatrace.checks.policy.environ import (
    CODE_CONTENT_ON,
    CODE_HARDCODED_SECRET,
    CODE_MISSING_ENDPOINT,
    CODE_SAMPLING_BELOW_POLICY,
    DEFAULT_POLICY,
    SAMPLING_RATE_VARS,
    EnvPolicy,
    EnvVar,
    EnvViolation,
    evaluate_env,
)

# Workloads that legitimately send no traces (databases, maintenance jobs) carry this
# annotation (on the object or its pod template) with the reason as value; it silences only
# the missing-endpoint finding, never content, secret or sampling findings.
EXEMPT_ANNOTATION = "somatrace.dev/trace-exempt"
WORKLOAD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
)

PathKey = str | int
ConfigMaps = Mapping[tuple[str, str], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class WorkloadFinding:
    """A policy violation in one container. ``path`` leads from the object root to the env
    entry (or the container, for a missing variable)."""

    code: str
    message: str
    container: str
    path: tuple[PathKey, ...]


def pod_spec_path(obj: Mapping[str, Any]) -> tuple[PathKey, ...] | None:
    kind = obj.get("kind")
    if kind == "Pod":
        return ("spec",)
    if kind == "CronJob":
        return ("spec", "jobTemplate", "spec", "template", "spec")
    if kind in WORKLOAD_KINDS:
        return ("spec", "template", "spec")
    return None


def evaluate_workload(
    obj: Mapping[str, Any],
    configmaps: ConfigMaps | None = None,
    policy: EnvPolicy = DEFAULT_POLICY,
    default_namespace: str = "default",
    *,
    configmap_values_judged_elsewhere: bool = False,
) -> list[WorkloadFinding]:
    """Every policy violation of every container of ``obj`` (a workload as a dict).

    ``configmaps`` maps ``(namespace, name)`` to data, to resolve ``envFrom.configMapRef``.
    A container whose ``envFrom`` takes a Secret (keys unknown here) or an unknown ConfigMap
    is not reported for a missing endpoint: the variable may come from there.
    With ``configmap_values_judged_elsewhere`` (the offline validator judges each ConfigMap's
    data where it is written), variables from ConfigMaps count for the whole-environment rules
    (sampler, endpoint) but are not reported again one by one.
    """
    spec_path = pod_spec_path(obj)
    if spec_path is None:
        return []
    pod = value_at(obj, spec_path)
    if not isinstance(pod, Mapping):
        return []
    namespace = str((obj.get("metadata") or {}).get("namespace") or default_namespace)
    exempt = _exempt(obj, spec_path)
    found: list[WorkloadFinding] = []
    for group in ("initContainers", "containers"):
        for index, container in enumerate(pod.get(group) or []):
            if not isinstance(container, Mapping):
                continue
            path = (*spec_path, group, index)
            require_endpoint = group == "containers" and not exempt
            found.extend(
                _container(
                    container,
                    path,
                    namespace,
                    configmaps or {},
                    policy,
                    require_endpoint,
                    configmap_values_judged_elsewhere,
                )
            )
    return found


def _container(
    container: Mapping[str, Any],
    path: tuple[PathKey, ...],
    namespace: str,
    configmaps: ConfigMaps,
    policy: EnvPolicy,
    require_endpoint: bool,
    skip_configmap_vars: bool,
) -> list[WorkloadFinding]:
    name = str(container.get("name", "?"))
    variables: list[EnvVar] = []
    origin: dict[str, tuple[PathKey, ...]] = {}
    from_configmap: set[str] = set()
    unknown_source = False
    for index, source in enumerate(container.get("envFrom") or []):
        if not isinstance(source, Mapping):
            continue
        prefix = str(source.get("prefix") or "")
        ref = source.get("configMapRef")
        data = (
            configmaps.get((namespace, str(ref.get("name")))) if isinstance(ref, Mapping) else None
        )
        if data is None:
            unknown_source = True
            continue
        for key, value in data.items():
            variables.append(EnvVar(prefix + key, None if value is None else str(value)))
            origin[prefix + key] = (*path, "envFrom", index)
            from_configmap.add(prefix + key)
    for index, entry in enumerate(container.get("env") or []):
        if isinstance(entry, Mapping) and "name" in entry:
            var = EnvVar.from_k8s(entry)
            variables.append(var)
            has_value = "value" in entry and "valueFrom" not in entry
            origin[var.name] = (
                (*path, "env", index, "value") if has_value else (*path, "env", index)
            )
            from_configmap.discard(var.name)
    effective = EnvPolicy(
        min_sampling_rate=policy.min_sampling_rate,
        allow_content=policy.allow_content,
        require_endpoint=policy.require_endpoint and require_endpoint and not unknown_source,
    )
    found = []
    for violation in evaluate_env(variables, effective):
        if skip_configmap_vars and violation.name in from_configmap and _single_var(violation):
            continue
        where = (
            path if violation.code == CODE_MISSING_ENDPOINT else origin.get(violation.name, path)
        )
        found.append(
            WorkloadFinding(violation.code, f"container {name!r}: {violation.message}", name, where)
        )
    return found


def _single_var(violation: EnvViolation) -> bool:
    """Whether :func:`evaluate_var` raises this on the variable alone (then the ConfigMap that
    holds it already reports it); sampler findings need the whole environment."""
    if violation.code in (CODE_CONTENT_ON, CODE_HARDCODED_SECRET):
        return True
    return violation.code == CODE_SAMPLING_BELOW_POLICY and violation.name in SAMPLING_RATE_VARS


def _exempt(obj: Mapping[str, Any], spec_path: tuple[PathKey, ...]) -> bool:
    annotations = dict((obj.get("metadata") or {}).get("annotations") or {})
    template = value_at(obj, spec_path[:-1])
    if isinstance(template, Mapping):
        annotations.update((template.get("metadata") or {}).get("annotations") or {})
    return bool(str(annotations.get(EXEMPT_ANNOTATION, "")).strip())


def configmap_data(
    objects: Iterator[Mapping[str, Any]] | list[Mapping[str, Any]],
    default_namespace: str = "default",
) -> dict[tuple[str, str], dict[str, str]]:
    """``(namespace, name) -> data`` of every ConfigMap among ``objects``."""
    table: dict[tuple[str, str], dict[str, str]] = {}
    for obj in objects:
        if obj.get("kind") != "ConfigMap":
            continue
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace") or default_namespace), str(meta.get("name")))
        table[key] = {
            str(k): "" if v is None else str(v) for k, v in (obj.get("data") or {}).items()
        }
    return table


def value_at(data: Any, path: Sequence[PathKey]) -> Any:
    """The value at ``path`` (mapping keys and list indexes) in parsed YAML, or ``None``."""
    for step in path:
        if isinstance(data, Mapping):
            data = data.get(step)
        elif isinstance(data, list) and isinstance(step, int) and step < len(data):
            data = data[step]
        else:
            return None
    return data
