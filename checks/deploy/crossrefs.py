"""References between the objects of a deployment directory, checked offline.

- every Secret a workload or the Helm values read (``secretKeyRef``, ``existingSecret``,
  ``envFrom.secretRef``, secret volumes) is produced by an ExternalSecret in that namespace,
  with that key;
- every namespace an object lives in or points at is declared (a ``Namespace`` object);
- ServiceAccounts, ConfigMaps, SecretStores and Roles that objects name exist.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from somatrace.checks.deploy.issues import (
    MISSING_REFERENCE,
    MISSING_SECRET,
    UNKNOWN_NAMESPACE,
)
from somatrace.checks.deploy.workloads import pod_spec_path, value_at
from somatrace.checks.deploy.yamlsrc import PathKey, YamlDoc
from somatrace.checks.lint.findings import Finding

BUILTIN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
BUILTIN_CLUSTER_ROLES = frozenset({"view", "edit", "admin", "cluster-admin"})
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "ClusterSecretStore",
        "ClusterExternalSecret",
        "IngressClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
        "RuntimeClass",
    }
)
ANY_KEY = "*"


@dataclass(frozen=True)
class Located:
    """An object and where it was written: a document and the path to it inside."""

    doc: YamlDoc
    base: tuple[PathKey, ...]
    data: dict[str, Any]
    default_namespace: str = "default"
    context: str = ""  # e.g. "values (prod)" for objects from Helm extraManifests

    @property
    def kind(self) -> str:
        return str(self.data.get("kind"))

    @property
    def name(self) -> str:
        return str((self.data.get("metadata") or {}).get("name"))

    @property
    def namespace(self) -> str | None:
        if self.kind in CLUSTER_SCOPED:
            return None
        return str((self.data.get("metadata") or {}).get("namespace") or self.default_namespace)

    def issue(
        self, code: str, message: str, path: Sequence[PathKey] = (), *, key_node: bool = False
    ) -> Finding:
        suffix = f" [{self.context}]" if self.context else ""
        return self.doc.issue(code, message + suffix, [*self.base, *path], key_node=key_node)


@dataclass(frozen=True)
class SecretRef:
    """A read of Secret ``name`` (key ``key``, or ``ANY_KEY``) in ``namespace``."""

    namespace: str
    name: str
    key: str
    doc: YamlDoc
    path: tuple[PathKey, ...]
    what: str
    context: str = ""


@dataclass
class Inventory:
    """What a deployment directory declares."""

    namespaces: set[str] = field(default_factory=lambda: set(BUILTIN_NAMESPACES))
    produced: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # secret -> keys
    producers: dict[tuple[str, str], str] = field(default_factory=dict)  # secret -> producer
    names: set[tuple[str, str | None, str]] = field(default_factory=set)  # (kind, ns, name)

    def add(self, obj: Located) -> None:
        self.names.add((obj.kind, obj.namespace, obj.name))
        if obj.kind == "Namespace":
            self.namespaces.add(obj.name)
        elif obj.kind == "ExternalSecret" and obj.data.get("apiVersion", "").startswith(
            "external-secrets.io/"
        ):
            target, keys = external_secret_output(obj.data)
            self._produce(obj, target, keys, f"ExternalSecret {obj.name}")
        elif obj.kind == "Secret":
            keys = set((obj.data.get("data") or {}).keys()) | set(
                (obj.data.get("stringData") or {}).keys()
            )
            self._produce(obj, obj.name, keys, f"Secret {obj.name}")

    def _produce(self, obj: Located, secret: str, keys: set[str], producer: str) -> None:
        slot = (str(obj.namespace), secret)
        self.produced.setdefault(slot, set()).update(keys)
        self.producers[slot] = producer

    def has(self, kind: str, namespace: str | None, name: str) -> bool:
        return (kind, namespace, name) in self.names


def external_secret_output(data: dict[str, Any]) -> tuple[str, set[str]]:
    """The Secret an ExternalSecret writes and its keys (``ANY_KEY`` when not knowable)."""
    spec = data.get("spec") or {}
    target = spec.get("target") or {}
    name = str(target.get("name") or (data.get("metadata") or {}).get("name"))
    keys = {str(item.get("secretKey")) for item in spec.get("data") or [] if isinstance(item, dict)}
    if spec.get("dataFrom"):
        keys.add(ANY_KEY)
    template = target.get("template") or {}
    if template:
        rendered = {str(k) for k in (template.get("data") or {})}
        if template.get("templateFrom"):
            rendered.add(ANY_KEY)
        keys = keys | rendered if template.get("mergePolicy") == "Merge" else rendered
    return name, keys


def secret_refs_of_object(obj: Located) -> Iterator[SecretRef]:
    """Secrets a workload reads: env ``secretKeyRef``, ``envFrom.secretRef``, secret volumes."""
    spec_path = pod_spec_path(obj.data)
    namespace = obj.namespace
    if spec_path is None or namespace is None:
        return
    pod = value_at(obj.data, spec_path)
    if not isinstance(pod, dict):
        return
    for path, ref in walk_key(pod, "secretKeyRef"):
        if isinstance(ref, dict) and ref.get("name") and ref.get("key") and not ref.get("optional"):
            yield SecretRef(
                namespace,
                str(ref["name"]),
                str(ref["key"]),
                obj.doc,
                (*obj.base, *spec_path, *path, "key"),
                f"{obj.kind} {obj.name}",
                obj.context,
            )
    for group in ("initContainers", "containers"):
        for c_index, container in enumerate(pod.get(group) or []):
            for e_index, source in enumerate((container or {}).get("envFrom") or []):
                ref = (source or {}).get("secretRef")
                if isinstance(ref, dict) and ref.get("name") and not ref.get("optional"):
                    yield SecretRef(
                        namespace,
                        str(ref["name"]),
                        ANY_KEY,
                        obj.doc,
                        (*obj.base, *spec_path, group, c_index, "envFrom", e_index),
                        f"{obj.kind} {obj.name}",
                        obj.context,
                    )
    for v_index, volume in enumerate(pod.get("volumes") or []):
        secret = (volume or {}).get("secret")
        if isinstance(secret, dict) and secret.get("secretName") and not secret.get("optional"):
            keys = [
                str(i.get("key")) for i in secret.get("items") or [] if isinstance(i, dict)
            ] or [ANY_KEY]
            for key in keys:
                yield SecretRef(
                    namespace,
                    str(secret["secretName"]),
                    key,
                    obj.doc,
                    (*obj.base, *spec_path, "volumes", v_index),
                    f"{obj.kind} {obj.name}",
                    obj.context,
                )


def check_secret_refs(refs: Sequence[SecretRef], inventory: Inventory) -> list[Finding]:
    """A located DV301 for every read of a Secret (key) no ExternalSecret produces. Reads of
    one place in several environments give one issue naming them all."""
    contexts: dict[tuple[str, str, str, str, tuple[PathKey, ...]], list[str]] = {}
    first: dict[tuple[str, str, str, str, tuple[PathKey, ...]], SecretRef] = {}
    for ref in refs:
        key = (ref.namespace, ref.name, ref.key, str(ref.doc.path), ref.path)
        first.setdefault(key, ref)
        if ref.context:
            contexts.setdefault(key, []).append(ref.context)
    issues = []
    for key, ref in first.items():
        slot = (ref.namespace, ref.name)
        suffix = _merged_context(contexts.get(key, []))
        keys = inventory.produced.get(slot)
        if keys is None:
            message = (
                f"{ref.what} reads Secret {ref.name!r} (key {ref.key!r}) but no "
                f"ExternalSecret in namespace {ref.namespace!r} produces it{suffix}"
            )
        elif ref.key != ANY_KEY and ref.key not in keys and ANY_KEY not in keys:
            message = (
                f"{ref.what} reads key {ref.key!r} of Secret {ref.name!r}, but "
                f"{inventory.producers[slot]} in namespace {ref.namespace!r} produces only "
                f"{', '.join(sorted(keys)) or 'no keys'}{suffix}"
            )
        else:
            continue
        issues.append(ref.doc.issue(MISSING_SECRET, message, ref.path))
    return issues


def _merged_context(contexts: Sequence[str]) -> str:
    """``["environment: dev", "environment: prod"]`` -> ``" [environment: dev, prod]"``."""
    if not contexts:
        return ""
    envs = sorted({c.removeprefix("environment: ") for c in contexts})
    return f" [environment: {', '.join(envs)}]"


def check_object_refs(obj: Located, inventory: Inventory) -> list[Finding]:
    """Namespaces and named objects that ``obj`` lives in or points at."""
    issues: list[Finding] = []
    namespace = obj.namespace
    if namespace is not None and namespace not in inventory.namespaces:
        issues.append(
            obj.issue(
                UNKNOWN_NAMESPACE,
                f"{obj.kind} {obj.name}: namespace {namespace!r} is not "
                "declared by any Namespace object",
                ["metadata", "namespace"],
            )
        )
    for path, selector in walk_key(obj.data, "namespaceSelector"):
        name = ((selector or {}).get("matchLabels") or {}).get("kubernetes.io/metadata.name")
        if name and name not in inventory.namespaces:
            issues.append(
                obj.issue(
                    UNKNOWN_NAMESPACE,
                    f"{obj.kind} {obj.name}: selects namespace {name!r}, "
                    "which is not declared by any Namespace object",
                    [*path, "matchLabels", "kubernetes.io/metadata.name"],
                )
            )
    if obj.kind in ("RoleBinding", "ClusterRoleBinding"):
        issues.extend(_binding_refs(obj, inventory))
    if obj.kind == "ExternalSecret":
        store = (obj.data.get("spec") or {}).get("secretStoreRef") or {}
        kind = store.get("kind", "SecretStore")
        scope = None if kind == "ClusterSecretStore" else namespace
        if store.get("name") and not inventory.has(kind, scope, str(store["name"])):
            issues.append(
                obj.issue(
                    MISSING_REFERENCE,
                    f"ExternalSecret {obj.name}: {kind} {store['name']!r} "
                    f"is not defined{' in namespace ' + repr(namespace) if scope else ''}",
                    ["spec", "secretStoreRef", "name"],
                )
            )
    issues.extend(_pod_refs(obj, inventory))
    return issues


def _binding_refs(obj: Located, inventory: Inventory) -> list[Finding]:
    issues = []
    role = obj.data.get("roleRef") or {}
    role_kind, role_name = role.get("kind"), str(role.get("name"))
    scope = obj.namespace if role_kind == "Role" else None
    if role_name not in BUILTIN_CLUSTER_ROLES and not inventory.has(
        str(role_kind), scope, role_name
    ):
        issues.append(
            obj.issue(
                MISSING_REFERENCE,
                f"{obj.kind} {obj.name}: {role_kind} {role_name!r} is not defined",
                ["roleRef", "name"],
            )
        )
    for index, subject in enumerate(obj.data.get("subjects") or []):
        if not isinstance(subject, dict) or subject.get("kind") != "ServiceAccount":
            continue
        ns = str(subject.get("namespace") or obj.namespace)
        if ns not in inventory.namespaces:
            issues.append(
                obj.issue(
                    UNKNOWN_NAMESPACE,
                    f"{obj.kind} {obj.name}: subject namespace {ns!r} is not "
                    "declared by any Namespace object",
                    ["subjects", index, "namespace"],
                )
            )
        elif not inventory.has("ServiceAccount", ns, str(subject.get("name"))):
            issues.append(
                obj.issue(
                    MISSING_REFERENCE,
                    f"{obj.kind} {obj.name}: ServiceAccount "
                    f"{ns}/{subject.get('name')} is not defined",
                    ["subjects", index, "name"],
                )
            )
    return issues


def _pod_refs(obj: Located, inventory: Inventory) -> list[Finding]:
    spec_path = pod_spec_path(obj.data)
    namespace = obj.namespace
    pod = value_at(obj.data, spec_path) if spec_path else None
    if not isinstance(pod, dict) or spec_path is None:
        return []
    issues = []
    account = pod.get("serviceAccountName")
    if (
        account
        and account != "default"
        and not inventory.has("ServiceAccount", namespace, str(account))
    ):
        issues.append(
            obj.issue(
                MISSING_REFERENCE,
                f"{obj.kind} {obj.name}: ServiceAccount {account!r} is not "
                f"defined in namespace {namespace!r}",
                [*spec_path, "serviceAccountName"],
            )
        )
    for path, ref in walk_key(pod, "configMapRef"):
        _config_map(obj, inventory, ref, "name", [*spec_path, *path], issues)
    for index, volume in enumerate(pod.get("volumes") or []):
        _config_map(
            obj,
            inventory,
            (volume or {}).get("configMap"),
            "name",
            [*spec_path, "volumes", index, "configMap"],
            issues,
        )
    return issues


def _config_map(
    obj: Located,
    inventory: Inventory,
    ref: Any,
    field_name: str,
    path: list[PathKey],
    issues: list[Finding],
) -> None:
    if not isinstance(ref, dict) or not ref.get(field_name) or ref.get("optional"):
        return
    if not inventory.has("ConfigMap", obj.namespace, str(ref[field_name])):
        issues.append(
            obj.issue(
                MISSING_REFERENCE,
                f"{obj.kind} {obj.name}: ConfigMap {ref[field_name]!r} is not "
                f"defined in namespace {obj.namespace!r}",
                [*path, field_name],
            )
        )


def walk_key(
    data: Any, key: str, path: tuple[PathKey, ...] = ()
) -> Iterator[tuple[tuple[PathKey, ...], Any]]:
    """``(path, value)`` of every mapping entry named ``key`` anywhere inside ``data``."""
    if isinstance(data, dict):
        for k, v in data.items():
            if k == key:
                yield (*path, k), v
            else:
                yield from walk_key(v, key, (*path, k))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from walk_key(item, key, (*path, index))
