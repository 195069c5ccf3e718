"""One Kubernetes object validated offline: the Kubernetes OpenAPI schemas through
kubernetes-validate, custom resources through the schemas shipped in ``schemas/``, and the
workload rules a schema cannot express (cron syntax, time zone, Job restart policy)."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
from referencing import Registry, Resource

from somatrace.checks.deploy import cron, schemas
from somatrace.checks.deploy.issues import (
    CRD_SCHEMA,
    K8S_SCHEMA,
    NO_SCHEMA,
    WORKLOAD_SEMANTICS,
)
from somatrace.checks.deploy.workloads import value_at
from somatrace.checks.deploy.yamlsrc import PathKey, YamlDoc
from somatrace.checks.lint.findings import Finding
from somatrace.checks.policy.environ import mask_secrets, mask_value

DEFAULT_KUBERNETES_VERSION = "1.31"


def is_manifest(data: Any) -> bool:
    return isinstance(data, dict) and "apiVersion" in data and "kind" in data


def describe(data: dict[str, Any]) -> str:
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = meta.get("name", "<unnamed>")
    namespace = meta.get("namespace")
    where = f"{namespace}/" if namespace else ""
    return f"{data.get('kind')} {where}{name}"


def validate_object(
    doc: YamlDoc,
    data: dict[str, Any],
    base: Sequence[PathKey] = (),
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
) -> list[Finding]:
    """Schema and semantic problems of one object. ``base`` is where the object sits inside
    ``doc`` (``()`` for a plain manifest, e.g. ``("extraManifests", 0)`` inside Helm values)."""
    api_version, kind = str(data.get("apiVersion")), str(data.get("kind"))
    what = describe(data)
    custom = schemas.crd_schema(api_version, kind)
    if custom is not None:
        issues = [
            doc.issue(
                CRD_SCHEMA,
                f"{what}: {_message(error)} (at {_dotted(error.absolute_path)})",
                [*base, *location(error)],
                key_node=_is_key_error(error),
            )
            for error in _sorted_errors(jsonschema.Draft202012Validator(custom), data)
        ]
    elif "." in api_version.split("/")[0] and not api_version.split("/")[0].endswith("k8s.io"):
        issues = [
            doc.issue(
                NO_SCHEMA,
                f"{what}: no schema for {api_version} {kind} is shipped, "
                "so it cannot be validated offline",
                base,
            )
        ]
    else:
        issues = _kubernetes_schema(doc, data, base, kubernetes_version, what)
    if not issues:
        issues = semantic_issues(doc, data, base)
    return issues


def _kubernetes_schema(
    doc: YamlDoc, data: dict[str, Any], base: Sequence[PathKey], version: str, what: str
) -> list[Finding]:
    try:
        validator, used = kubernetes_validator(
            version, api_version=str(data["apiVersion"]), kind=str(data["kind"])
        )
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [doc.issue(NO_SCHEMA, f"{what}: {exc.message}", base)]
    except kubernetes_validate.utils.VersionNotSupportedError as exc:
        return [doc.issue(NO_SCHEMA, f"{what}: {exc.message}", base)]
    return [
        doc.issue(
            K8S_SCHEMA,
            f"{what}: {_message(error)} "
            f"(at {_dotted(error.absolute_path)}; Kubernetes {used} schema)",
            [*base, *location(error)],
            key_node=_is_key_error(error),
        )
        for error in _sorted_errors(validator, data)
    ]


@cache
def kubernetes_validator(
    version: str, api_version: str, kind: str
) -> tuple[jsonschema.Validator, str]:
    """The strict validator kubernetes-validate would use for ``kind`` (all errors, cached:
    its schema files are large and ``kubernetes_validate.validate`` re-reads them each call)."""
    utils = kubernetes_validate.utils
    wanted = version.removeprefix("v")
    if utils.major_minor(wanted) > utils.latest_version():
        raise utils.VersionNotSupportedError(version=utils.major_minor(wanted))
    used = [v for v in utils.all_versions() if utils.major_minor(v) <= utils.major_minor(wanted)][
        -1
    ]
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    directory = f"v{used}-local-strict"
    try:
        schema = utils.schema_contents(
            f"kubernetes-json-schema/{directory}/{kind.lower()}-{group_version}.json", wanted
        )
    except FileNotFoundError as exc:
        raise kubernetes_validate.SchemaNotFoundError(
            version=utils.major_minor(wanted), kind=kind, api_version=api_version
        ) from exc
    definitions = _definitions(directory, wanted)
    registry = definitions @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry), utils.major_minor(used)


@cache
def _definitions(directory: str, wanted: str) -> Resource:
    contents = kubernetes_validate.utils.schema_contents(
        f"kubernetes-json-schema/{directory}/_definitions.json", wanted
    )
    return Resource.from_contents(contents)


def semantic_issues(doc: YamlDoc, data: dict[str, Any], base: Sequence[PathKey]) -> list[Finding]:
    """Rules of the API server that its OpenAPI schema does not carry."""
    found: list[Finding] = []
    what = describe(data)
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    if data.get("kind") == "CronJob":
        schedule = spec.get("schedule")
        if isinstance(schedule, str):
            problem = cron.schedule_problem(schedule)
            if problem:
                found.append(
                    doc.issue(
                        WORKLOAD_SEMANTICS,
                        f"{what}: invalid schedule {schedule!r}: {problem}",
                        [*base, "spec", "schedule"],
                    )
                )
        zone = spec.get("timeZone")
        if isinstance(zone, str) and not _known_zone(zone):
            found.append(
                doc.issue(
                    WORKLOAD_SEMANTICS,
                    f"{what}: unknown timeZone {zone!r}",
                    [*base, "spec", "timeZone"],
                )
            )
    for pod_path in _job_pod_spec_paths(data):
        pod = value_at(data, pod_path)
        policy = pod.get("restartPolicy", "Always") if isinstance(pod, dict) else None
        if policy not in ("OnFailure", "Never"):
            found.append(
                doc.issue(
                    WORKLOAD_SEMANTICS,
                    f"{what}: a Job's restartPolicy must be OnFailure or Never, not {policy!r}",
                    [*base, *pod_path, "restartPolicy"],
                )
            )
    return found


def _job_pod_spec_paths(data: dict[str, Any]) -> Iterator[tuple[PathKey, ...]]:
    if data.get("kind") == "Job":
        yield ("spec", "template", "spec")
    elif data.get("kind") == "CronJob":
        yield ("spec", "jobTemplate", "spec", "template", "spec")


def _known_zone(zone: str) -> bool:
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _sorted_errors(validator: jsonschema.Validator, data: Any) -> list[jsonschema.ValidationError]:
    return sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])


def _is_key_error(error: jsonschema.ValidationError) -> bool:
    return error.validator == "additionalProperties"


def unexpected_keys(error: jsonschema.ValidationError) -> list[str]:
    """The keys an ``additionalProperties: false`` error is about."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    allowed = set((error.schema.get("properties") or {}).keys())
    return sorted(str(k) for k in error.instance if k not in allowed)


def location(error: jsonschema.ValidationError) -> list[PathKey]:
    """Where to point at: the first unknown key itself for unknown-field errors."""
    path: list[PathKey] = list(error.absolute_path)
    extra = unexpected_keys(error)
    return [*path, extra[0]] if extra else path


def value_free_message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message without the value it is about: messages start with the value's
    ``repr`` ("'SECRET-...' is not of type 'object'"), which may be a secret; it becomes
    :func:`mask_value`'s form, and whatever else looks like a secret is masked too."""
    message = error.message
    shown = repr(error.instance)
    if message.startswith(shown):
        message = mask_value(error.instance) + message[len(shown) :]
    return mask_secrets(message)


def _message(error: jsonschema.ValidationError) -> str:
    unexpected = unexpected_keys(error)
    if unexpected:
        return f"unknown field(s) {', '.join(repr(k) for k in unexpected)}"
    if error.validator == "required":
        return value_free_message(error).replace("is a required property", "is required")
    return value_free_message(error)


def _dotted(path: Any) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or "<root>"
