"""The JSON schemas shipped with somatrace (package data under ``schemas/``)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

_ROOT = "somatrace.checks.deploy"


@cache
def load(relative: str) -> dict[str, Any] | None:
    """The packaged schema at ``schemas/<relative>``, or ``None`` when there is none."""
    node = resources.files(_ROOT).joinpath("schemas")
    for part in relative.split("/"):
        node = node.joinpath(part)
    if not node.is_file():
        return None
    return json.loads(node.read_text(encoding="utf-8"))


def crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    """The schema for a custom resource (``group/version`` + ``kind``) if one is shipped."""
    if "/" not in api_version:
        return None
    group, version = api_version.split("/", 1)
    return load(f"{group}/{kind.lower()}_{version}.json")


def helmfile_schema() -> dict[str, Any]:
    schema = load("helmfile.schema.json")
    assert schema is not None, "helmfile.schema.json is missing from the package"
    return schema


def langfuse_values_schema() -> dict[str, Any]:
    schema = load("langfuse-values.schema.json")
    assert schema is not None, "langfuse-values.schema.json is missing from the package"
    return schema
