"""A helmfile and its values, checked offline (no helm, no helmfile, no chart download).

For each helmfile document: its structure (``helmfile.schema.json``). For each release and
environment: the values files in order, merged the way Helm merges them, then

- validated against the chart's values schema (``values.schema.json`` beside the helmfile,
  or the shipped Langfuse one for a ``*/langfuse`` chart), each error located in the file
  that set the value;
- searched for inline secrets (every secret must be a ``secretKeyRef`` / ``existingSecret``);
- their ``additionalEnv`` judged by the env-var tracing policy;
- their ``extraManifests`` and secret references handed back for the manifest checks.

``*.gotmpl`` values files are rendered for the two forms our package uses:
``{{ .Environment.Name }}`` and ``{{ readFile (printf "<fmt>" .Environment.Name) }}``.

Only files inside the project are read: a values file, a ``readFile`` target or a values
schema whose real location (links resolved; ``../..`` and absolute paths included) is outside
the project root is not opened, and a DV204 finding names the refused path instead. Messages
never show a value: schema errors carry :func:`~somatrace.checks.deploy.kube.value_free_message`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from somatrace.checks.deploy import schemas
from somatrace.checks.deploy.crossrefs import ANY_KEY, Located, SecretRef, walk_key
from somatrace.checks.deploy.issues import (
    HELMFILE_SCHEMA,
    INLINE_SECRET,
    UNKNOWN_NAMESPACE,
    VALUES_FILE,
    VALUES_SCHEMA,
)
from somatrace.checks.deploy.kube import location, unexpected_keys, value_free_message
from somatrace.checks.deploy.workloads import value_at
from somatrace.checks.deploy.yamlsrc import PathKey, YamlDoc, load_documents, load_text
from somatrace.checks.lint.boundary import inside, project_root
from somatrace.checks.lint.findings import Finding
from somatrace.checks.policy.environ import (
    DEFAULT_POLICY,
    SECRET_NAME,
    URL_CREDENTIALS,
    EnvPolicy,
    evaluate_var,
)

HELMFILE_NAMES = ("helmfile.yaml", "helmfile.yml")
VALUES_SCHEMA_NAME = "values.schema.json"

# valueOrSecret objects of the Langfuse chart whose inline ``value`` would be a secret.
SECRET_VALUE_OBJECTS: tuple[tuple[str, ...], ...] = (
    ("langfuse", "salt"),
    ("langfuse", "encryptionKey"),
    ("langfuse", "licenseKey"),
    ("langfuse", "nextauth", "secret"),
    ("s3", "accessKeyId"),
    ("s3", "secretAccessKey"),
    ("s3", "gcs", "credentials"),
    *(
        ("s3", up, k)
        for up in ("eventUpload", "batchExport", "mediaUpload")
        for k in ("accessKeyId", "secretAccessKey")
    ),
)
# Plain string keys that hold a password when set.
SECRET_STRINGS: tuple[tuple[str, ...], ...] = (
    ("postgresql", "auth", "password"),
    ("postgresql", "auth", "postgresPassword"),
    ("redis", "auth", "password"),
    ("redis", "sentinel", "password"),
    ("clickhouse", "auth", "password"),
    ("s3", "auth", "rootPassword"),
)
URL_STRINGS: tuple[tuple[str, ...], ...] = (
    ("postgresql", "directUrl"),
    ("postgresql", "shadowDatabaseUrl"),
    ("clickhouse", "migration", "url"),
)
# existingSecret name -> the keys of it the chart reads.
EXISTING_SECRETS: tuple[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], ...] = (
    (
        ("postgresql", "auth", "existingSecret"),
        (
            ("postgresql", "auth", "secretKeys", "userPasswordKey"),
            ("postgresql", "auth", "secretKeys", "adminPasswordKey"),
        ),
    ),
    (("redis", "auth", "existingSecret"), (("redis", "auth", "existingSecretPasswordKey"),)),
    (
        ("redis", "sentinel", "existingSecret"),
        (("redis", "sentinel", "existingSecretPasswordKey"),),
    ),
    (("clickhouse", "auth", "existingSecret"), (("clickhouse", "auth", "existingSecretKey"),)),
    (
        ("s3", "auth", "existingSecret"),
        (("s3", "auth", "rootUserSecretKey"), ("s3", "auth", "rootPasswordSecretKey")),
    ),
)
ENV_LISTS: tuple[tuple[str, ...], ...] = (
    ("langfuse", "additionalEnv"),
    ("langfuse", "web", "pod", "additionalEnv"),
    ("langfuse", "worker", "pod", "additionalEnv"),
)
_READFILE = re.compile(
    r'^\s*\{\{-?\s*readFile\s+\(\s*printf\s+"([^"]*)"\s+\.Environment\.Name\s*\)\s*-?\}\}\s*$'
)
_ENV_NAME = re.compile(r"\{\{-?\s*\.Environment\.Name\s*-?\}\}")


@dataclass(frozen=True)
class Source:
    """Where a layer of values came from: a document and the path of the values inside it."""

    doc: YamlDoc
    base: tuple[PathKey, ...] = ()


@dataclass
class HelmfileResult:
    issues: list[Finding] = field(default_factory=list)
    embedded: list[Located] = field(default_factory=list)
    secret_refs: list[SecretRef] = field(default_factory=list)
    files: set[Path] = field(default_factory=set)  # values files consumed
    project: Path = Path("/")  # nothing outside it is read


def is_helmfile(path: Path) -> bool:
    return path.name in HELMFILE_NAMES


def check_helmfile(
    path: Path,
    policy: EnvPolicy = DEFAULT_POLICY,
    known_namespaces: set[str] | None = None,
    project: Path | None = None,
) -> HelmfileResult:
    """``project``: the root nothing outside of which is read (default: the git work tree
    holding the helmfile, else its folder)."""
    result = HelmfileResult()
    result.project = project or project_root(path.parent, path.parent)
    docs, errors = load_documents(path)
    result.issues.extend(errors)
    if errors:
        return result
    validator = jsonschema.Draft202012Validator(schemas.helmfile_schema())
    environments: list[str] = []
    releases: list[tuple[YamlDoc, int, dict[str, Any]]] = []
    for doc in docs:
        if not isinstance(doc.data, dict):
            result.issues.append(
                doc.issue(HELMFILE_SCHEMA, "a helmfile document must be a mapping")
            )
            continue
        for error in validator.iter_errors(doc.data):
            result.issues.append(
                doc.issue(
                    HELMFILE_SCHEMA,
                    f"helmfile: {_schema_message(error)}",
                    location(error),
                    key_node=bool(unexpected_keys(error)),
                )
            )
        environments.extend(str(name) for name in (doc.data.get("environments") or {}))
        for index, release in enumerate(doc.data.get("releases") or []):
            if isinstance(release, dict):
                releases.append((doc, index, release))
    if any(i.code == HELMFILE_SCHEMA for i in result.issues):
        return result
    grouped: dict[tuple[str, int, int, str, str], set[str]] = {}
    for doc, index, release in releases:
        namespace = str(release.get("namespace") or "default")
        if known_namespaces is not None and namespace not in known_namespaces:
            result.issues.append(
                doc.issue(
                    UNKNOWN_NAMESPACE,
                    f"release {release.get('name')!r}: namespace "
                    f"{namespace!r} is not declared by any Namespace object",
                    ("releases", index, "namespace"),
                )
            )
        for env in environments or ["default"]:
            for issue in _check_release(path, doc, index, release, env, namespace, policy, result):
                key = (issue.path, issue.line, issue.col, issue.code, issue.message)
                grouped.setdefault(key, set()).add(env)
    for (shown, line, col, code, message), envs in grouped.items():
        label = ", ".join(sorted(envs))
        result.issues.append(Finding(shown, line, col, code, f"{message} [environment: {label}]"))
    return result


def _check_release(
    helmfile: Path,
    doc: YamlDoc,
    index: int,
    release: dict[str, Any],
    env: str,
    namespace: str,
    policy: EnvPolicy,
    result: HelmfileResult,
) -> list[Finding]:
    issues: list[Finding] = []
    layers: list[tuple[Any, Source]] = []
    for v_index, entry in enumerate(release.get("values") or []):
        here = ("releases", index, "values", v_index)
        if isinstance(entry, dict):
            layers.append((entry, Source(doc, here)))
            continue
        loaded = _load_values_file(helmfile.parent, str(entry), env, doc, here, issues, result)
        if loaded is not None:
            layers.append(loaded)
    if issues:
        return issues
    merged: Any = {}
    provenance: dict[tuple[PathKey, ...], Source] = {}
    for data, source in layers:
        merged = _merge(merged, data, source, (), provenance)
    schema = _values_schema(helmfile.parent, str(release.get("chart", "")), result.project)
    context = f"environment: {env}"
    if schema is not None:
        for error in jsonschema.Draft202012Validator(schema).iter_errors(merged):
            issues.append(
                _locate(
                    provenance,
                    location(error),
                    VALUES_SCHEMA,
                    _values_message(error),
                    key_node=bool(unexpected_keys(error)),
                )
            )
    issues.extend(_inline_secrets(merged, provenance, policy))
    for s_path, s_ref in walk_key(merged, "secretKeyRef"):
        if isinstance(s_ref, dict) and s_ref.get("name") and s_ref.get("key"):
            src = _source_of(provenance, s_path)
            result.secret_refs.append(
                SecretRef(
                    namespace,
                    str(s_ref["name"]),
                    str(s_ref["key"]),
                    src.doc,
                    (*src.base, *s_path, "key"),
                    f"release {release.get('name')!r} values",
                    context,
                )
            )
    for name_path, key_paths in EXISTING_SECRETS:
        secret = value_at(merged, name_path)
        if not secret:
            continue
        src = _source_of(provenance, name_path)
        keys = [str(value_at(merged, k)) for k in key_paths if value_at(merged, k)] or [ANY_KEY]
        for key in keys:
            result.secret_refs.append(
                SecretRef(
                    namespace,
                    str(secret),
                    key,
                    src.doc,
                    (*src.base, *name_path),
                    f"release {release.get('name')!r} values",
                    context,
                )
            )
    for m_index, manifest in enumerate(value_at(merged, ("extraManifests",)) or []):
        if isinstance(manifest, dict):
            src = _source_of(provenance, ("extraManifests", m_index))
            result.embedded.append(
                Located(
                    src.doc, (*src.base, "extraManifests", m_index), manifest, namespace, context
                )
            )
    return issues


def _load_values_file(
    base_dir: Path,
    entry: str,
    env: str,
    doc: YamlDoc,
    here: tuple[PathKey, ...],
    issues: list[Finding],
    result: HelmfileResult,
) -> tuple[Any, Source] | None:
    file = base_dir / entry  # an absolute entry stays absolute
    if not inside(file, result.project):
        issues.append(doc.issue(VALUES_FILE, _refused("values file", entry, result.project), here))
        return None
    if not file.is_file():
        issues.append(doc.issue(VALUES_FILE, f"values file {entry!r} does not exist", here))
        return None
    result.files.add(file.resolve())
    if file.name.endswith(".gotmpl"):
        rendered = _render(file, env, base_dir, result.project)
        if isinstance(rendered, str):
            issues.append(doc.issue(VALUES_FILE, f"values template {entry!r}: {rendered}", here))
            return None
        text, origin = rendered
        if origin != file:
            result.files.add(origin.resolve())
        docs, errors = load_text(text, origin)
    else:
        docs, errors = load_documents(file)
    issues.extend(errors)
    if errors:
        return None
    if not docs:
        return ({}, Source(doc, here))
    if not isinstance(docs[0].data, dict):
        issues.append(docs[0].issue(VALUES_FILE, "a values file must be a mapping"))
        return None
    return (docs[0].data, Source(docs[0]))


def _refused(what: str, entry: str, project: Path) -> str:
    return (
        f"{what} {entry!r} is outside the project ({project}); not read - "
        "deployment config may only use files inside the repository"
    )


def _render(file: Path, env: str, base_dir: Path, project: Path) -> tuple[str, Path] | str:
    """The rendered text of a values template and the file it really comes from, or why it
    cannot be rendered offline."""
    text = file.read_text(encoding="utf-8")
    match = _READFILE.match(text)
    if match:
        try:
            target = base_dir / (match.group(1) % env)
        except (TypeError, ValueError):
            return f"cannot format {match.group(1)!r} with the environment name"
        if not inside(target, project):
            return _refused("readFile target", match.group(1) % env, project)
        if not target.is_file():
            return f"reads {target.name!r} for environment {env!r}, which does not exist"
        return target.read_text(encoding="utf-8"), target
    rendered = _ENV_NAME.sub(env, text)
    if "{{" in rendered:
        return (
            "uses template expressions beyond .Environment.Name / readFile; "
            "cannot render it offline"
        )
    return rendered, file


def _values_schema(base_dir: Path, chart: str, project: Path) -> dict[str, Any] | None:
    beside = base_dir / VALUES_SCHEMA_NAME
    if beside.is_file() and inside(beside, project):
        return json.loads(beside.read_text(encoding="utf-8"))
    if chart.rstrip("/").split("/")[-1] == "langfuse":
        return schemas.langfuse_values_schema()
    return None


def _merge(
    base: Any,
    overlay: Any,
    source: Source,
    path: tuple[PathKey, ...],
    provenance: dict[tuple[PathKey, ...], Source],
) -> Any:
    """Helm's merge of values files: maps merge key by key, anything else replaces, ``null``
    deletes the key."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            here = (*path, key)
            if value is None:
                merged.pop(key, None)
                continue
            provenance[here] = source
            merged[key] = _merge(base.get(key), value, source, here, provenance)
        return merged
    _claim(overlay, source, path, provenance)
    return overlay


def _claim(
    value: Any,
    source: Source,
    path: tuple[PathKey, ...],
    provenance: dict[tuple[PathKey, ...], Source],
) -> None:
    provenance[path] = source
    if isinstance(value, dict):
        for key, item in value.items():
            _claim(item, source, (*path, key), provenance)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _claim(item, source, (*path, index), provenance)


def _source_of(provenance: dict[tuple[PathKey, ...], Source], path: Sequence[PathKey]) -> Source:
    for cut in range(len(path), -1, -1):
        source = provenance.get(tuple(path[:cut]))
        if source is not None:
            return source
    return next(iter(provenance.values()))


def _locate(
    provenance: dict[tuple[PathKey, ...], Source],
    path: Sequence[PathKey],
    code: str,
    message: str,
    *,
    key_node: bool = False,
) -> Finding:
    source = _source_of(provenance, path)
    return source.doc.issue(code, message, [*source.base, *path], key_node=key_node)


def _inline_secrets(
    values: Any, provenance: dict[tuple[PathKey, ...], Source], policy: EnvPolicy
) -> list[Finding]:
    issues = []
    for obj_path in _expand(values, SECRET_VALUE_OBJECTS):
        if value_at(values, (*obj_path, "value")):
            issues.append(
                _locate(
                    provenance,
                    (*obj_path, "value"),
                    INLINE_SECRET,
                    f"{_dotted(obj_path)}.value is an inline secret; use "
                    f"{_dotted(obj_path)}.secretKeyRef (an ExternalSecret key)",
                )
            )
    for obj_path in _expand(values, (("langfuse", "auth", "providers", "*", "clientSecret"),)):
        if isinstance(value_at(values, obj_path), str) or value_at(values, (*obj_path, "value")):
            issues.append(
                _locate(
                    provenance,
                    obj_path,
                    INLINE_SECRET,
                    f"{_dotted(obj_path)} is an inline secret; use secretKeyRef",
                )
            )
    for s_path in SECRET_STRINGS:
        if value_at(values, s_path):
            issues.append(
                _locate(
                    provenance,
                    s_path,
                    INLINE_SECRET,
                    f"{_dotted(s_path)} is an inline password; use the section's existingSecret",
                )
            )
    for u_path in URL_STRINGS:
        value = value_at(values, u_path)
        if isinstance(value, str) and URL_CREDENTIALS.search(value):
            issues.append(
                _locate(
                    provenance,
                    u_path,
                    INLINE_SECRET,
                    f"{_dotted(u_path)} embeds a password in the URL",
                )
            )
    for list_path in ENV_LISTS:
        for index, entry in enumerate(value_at(values, list_path) or []):
            if not isinstance(entry, dict) or "value" not in entry:
                continue
            name, value = str(entry.get("name")), str(entry.get("value"))
            here = (*list_path, index, "value")
            if value and (SECRET_NAME.search(name) or URL_CREDENTIALS.search(value)):
                issues.append(
                    _locate(
                        provenance,
                        here,
                        INLINE_SECRET,
                        f"env {name} in {_dotted(list_path)} is an inline secret; "
                        "use valueFrom.secretKeyRef",
                    )
                )
            for violation in evaluate_var(name, value, policy):
                issues.append(_locate(provenance, here, violation.code, violation.message))
    return issues


def _expand(values: Any, patterns: Sequence[tuple[str, ...]]) -> list[tuple[PathKey, ...]]:
    found: list[tuple[PathKey, ...]] = []
    for pattern in patterns:
        frontier: list[tuple[PathKey, ...]] = [()]
        for step in pattern:
            nxt = []
            for prefix in frontier:
                node = value_at(values, prefix)
                if not isinstance(node, dict):
                    continue
                keys = list(node) if step == "*" else ([step] if step in node else [])
                nxt.extend((*prefix, k) for k in keys)
            frontier = nxt
        found.extend(frontier)
    return found


def _values_message(error: jsonschema.ValidationError) -> str:
    extra = unexpected_keys(error)
    where = _dotted(error.absolute_path)
    if extra:
        allowed = sorted((error.schema.get("properties") or {}).keys())
        hints = []
        for key in extra:
            close = difflib.get_close_matches(key, allowed, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        return f"unknown key {', '.join(hints)} in {where} — not a key of the chart's values"
    return f"{where}: {value_free_message(error)}"


def _schema_message(error: jsonschema.ValidationError) -> str:
    extra = unexpected_keys(error)
    where = _dotted(error.absolute_path)
    if extra:
        return f"unknown key(s) {', '.join(repr(k) for k in extra)} in {where}"
    return f"{where}: {value_free_message(error)}"


def _dotted(path: Any) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or "<root>"
