"""``somatrace deploy validate DIR``: everything about a deployment directory that can be
proved without a cluster, helm or a network.

1. every YAML file parses; every Kubernetes object (in manifests and in Helm
   ``extraManifests``) validates against the Kubernetes schemas (kubernetes-validate, strict)
   or the shipped CRD schemas, plus the rules schemas cannot carry (cron syntax, time zone,
   Job restart policy);
2. every helmfile validates; every release's values, per environment, validate against the
   values schema and hold no inline secret;
3. cross-references: Secrets read are produced by ExternalSecrets key by key, namespaces are
   declared, named ServiceAccounts/ConfigMaps/SecretStores/Roles exist;
4. the tracing policy: container environments (env-var policy, same code as
   ``somatrace audit-cluster``), ConfigMap data, inline ``Secret`` objects, and the rules of
   ``somatrace check`` run over the directory.

Nothing outside the project (the git work tree holding the directory, else the working
directory or the directory itself) is read: a YAML file that is a symlink out of it is DV001,
a values file, ``readFile`` target or schema outside it is DV204 naming the refused path. No
message shows a value: schema errors are masked like ST401's findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from somatrace.checks.deploy import crossrefs, helm, kube
from somatrace.checks.deploy.crossrefs import Inventory, Located
from somatrace.checks.deploy.issues import (
    INLINE_SECRET,
    K8S_SCHEMA,
    YAML_ERROR,
    display_path,
)
from somatrace.checks.deploy.workloads import configmap_data, evaluate_workload
from somatrace.checks.deploy.yamlsrc import YamlDoc, load_documents
from somatrace.checks.lint.boundary import OUTSIDE_REASON, inside, project_root
from somatrace.checks.lint.findings import Finding
from somatrace.checks.policy.environ import DEFAULT_POLICY, EnvPolicy, evaluate_var

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class ValidationReport:
    issues: list[Finding] = field(default_factory=list)
    files: int = 0
    objects: int = 0
    helmfiles: int = 0
    project: Path | None = None  # the boundary nothing outside of was read

    @property
    def ok(self) -> bool:
        return not self.issues


def validate_directory(
    root: Path,
    *,
    kubernetes_version: str = kube.DEFAULT_KUBERNETES_VERSION,
    policy: EnvPolicy = DEFAULT_POLICY,
    check_rules: Callable[[Path], Iterable[Finding]] | None = None,
) -> ValidationReport:
    """Validate every file under ``root`` (a directory or a single file). ``check_rules``, when
    given, runs the gate's rules over ``root`` too (the command line passes the engine; this
    layer does not import it)."""
    report = ValidationReport()
    folder = root if root.is_dir() else root.parent
    project = report.project = project_root(folder, Path.cwd(), folder)
    files = []
    for file in sorted(_yaml_files(root)):
        if inside(file, project):
            files.append(file)
        else:
            report.issues.append(
                Finding(display_path(file), 1, 1, YAML_ERROR, f"not read: {OUTSIDE_REASON}")
            )
    report.files = len(files)
    helmfiles = [f for f in files if helm.is_helmfile(f)]
    objects: list[Located] = []
    plain_docs: dict[Path, list[YamlDoc]] = {}
    for file in files:
        if file in helmfiles:
            continue
        docs, errors = load_documents(file)
        report.issues.extend(errors)
        plain_docs[file] = docs
    # Namespaces first: helmfile releases are checked against them.
    inventory = Inventory()
    for docs in plain_docs.values():
        for doc in docs:
            if kube.is_manifest(doc.data):
                inventory.add(Located(doc, (), doc.data))
    secret_refs: list[crossrefs.SecretRef] = []
    values_files: set[Path] = set()
    for file in helmfiles:
        report.helmfiles += 1
        result = helm.check_helmfile(file, policy, inventory.namespaces, project)
        report.issues.extend(result.issues)
        secret_refs.extend(result.secret_refs)
        values_files |= result.files
        objects.extend(_unique_embedded(result.embedded))
    helm_dirs = {f.parent for f in helmfiles}
    for file, docs in plain_docs.items():
        if file.resolve() in values_files:
            continue
        for doc in docs:
            if kube.is_manifest(doc.data):
                objects.append(Located(doc, (), doc.data))
            elif _is_monitoring_config(doc.data):
                continue  # a Prometheus rules file or Alertmanager config: promtool/amtool's
            elif file.parent not in helm_dirs or _looks_like_object(doc.data):
                # YAML beside a helmfile that it does not use may be values kept for later
                report.issues.append(doc.issue(K8S_SCHEMA, _not_an_object(doc.data)))
    for obj in objects:
        if obj.base:  # embedded objects join the inventory too
            inventory.add(obj)
    report.objects = len(objects)
    configmaps = configmap_data([o.data for o in objects])
    for obj in objects:
        report.issues.extend(_object_issues(obj, kubernetes_version, policy, configmaps))
        report.issues.extend(crossrefs.check_object_refs(obj, inventory))
        secret_refs.extend(crossrefs.secret_refs_of_object(obj))
    report.issues.extend(crossrefs.check_secret_refs(secret_refs, inventory))
    if check_rules is not None:
        # The config-file rules of `somatrace check` see the same env entries in YAML: keep
        # one finding per place and code (ours names the object and container).
        seen = {(i.path, i.line, i.code) for i in report.issues}
        found = check_rules(root)
        report.issues.extend(i for i in found if (i.path, i.line, i.code) not in seen)
    report.issues = sorted(set(report.issues), key=lambda f: (f.sort_key, f.message))
    return report


def _object_issues(
    obj: Located, version: str, policy: EnvPolicy, configmaps: dict[tuple[str, str], dict[str, str]]
) -> list[Finding]:
    issues = kube.validate_object(obj.doc, obj.data, obj.base, version)
    if obj.context:
        issues = [_with_context(i, obj.context) for i in issues]
    if obj.kind == "Secret" and (obj.data.get("data") or obj.data.get("stringData")):
        issues.append(
            obj.issue(
                INLINE_SECRET,
                f"Secret {obj.name} carries its values inline; "
                "produce it with an ExternalSecret from Vault",
                ["kind"],
            )
        )
    if obj.kind == "ConfigMap":
        for key, value in (obj.data.get("data") or {}).items():
            for violation in evaluate_var(str(key), None if value is None else str(value), policy):
                issues.append(
                    obj.issue(
                        violation.code, f"ConfigMap {obj.name}: {violation.message}", ["data", key]
                    )
                )
    for finding in evaluate_workload(
        obj.data, configmaps, policy, obj.default_namespace, configmap_values_judged_elsewhere=True
    ):
        issues.append(
            obj.issue(finding.code, f"{obj.kind} {obj.name}: {finding.message}", finding.path)
        )
    return issues


def _is_monitoring_config(data: object) -> bool:
    """A Prometheus rules file (``groups`` of named rule lists) or an Alertmanager config
    (``route`` + ``receivers``), as in ``deploy/monitoring``: not Kubernetes objects; checked
    by ``promtool check rules`` and ``amtool check-config`` (tests/monitoring)."""
    if not isinstance(data, dict):
        return False
    if set(data) == {"groups"} and isinstance(data["groups"], list):
        return all(isinstance(g, dict) and "name" in g and "rules" in g for g in data["groups"])
    return "route" in data and "receivers" in data


def _looks_like_object(data: object) -> bool:
    return isinstance(data, dict) and ("kind" in data or "apiVersion" in data)


def _not_an_object(data: object) -> str:
    if _looks_like_object(data):
        assert isinstance(data, dict)
        missing = "apiVersion" if "kind" in data else "kind"
        return f"not a Kubernetes object: {missing!r} is missing"
    return (
        "neither a Kubernetes object (apiVersion + kind) nor a values file of a helmfile in "
        "this directory, so nothing validates it"
    )


def _with_context(issue: Finding, context: str) -> Finding:
    return Finding(issue.path, issue.line, issue.col, issue.code, f"{issue.message} [{context}]")


def _unique_embedded(embedded: Iterable[Located]) -> list[Located]:
    """One object per written place: the same extraManifests entry seen for several
    environments is checked once, labelled with all of them."""
    seen: dict[tuple[str, tuple], Located] = {}
    contexts: dict[tuple[str, tuple], list[str]] = {}
    for obj in embedded:
        key = (str(obj.doc.path), obj.base)
        seen.setdefault(key, obj)
        contexts.setdefault(key, []).append(obj.context)
    unique = []
    for key, obj in seen.items():
        envs = sorted({c.removeprefix("environment: ") for c in contexts[key]})
        label = f"environment: {', '.join(envs)}"
        unique.append(Located(obj.doc, obj.base, obj.data, obj.default_namespace, label))
    return unique


def _yaml_files(root: Path) -> Iterable[Path]:
    if root.is_file():
        yield root
        return
    for path in root.rglob("*"):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.is_file() and path.suffix in YAML_SUFFIXES:
            yield path


__all__ = ["ValidationReport", "display_path", "validate_directory"]
