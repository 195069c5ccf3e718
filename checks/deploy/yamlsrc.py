"""YAML documents that remember where each value came from, for located messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from somatrace.checks.deploy.issues import YAML_ERROR, display_path
from somatrace.checks.lint.bounds import TooComplex
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.yaml_bounds import compose_documents

PathKey = str | int


@dataclass(frozen=True)
class YamlDoc:
    """One document of a YAML file: its data and the node tree that located it."""

    path: Path
    index: int
    data: Any
    node: yaml.Node | None

    @property
    def shown(self) -> str:
        return display_path(self.path)

    def position(self, keys: Sequence[PathKey] = (), *, key_node: bool = False) -> tuple[int, int]:
        """(line, column), 1-based, of the value at ``keys`` — or of the deepest part of it
        that exists. With ``key_node``, of the mapping key of the last step instead."""
        node = self.node
        if node is None:
            return (1, 1)
        best = node
        for index, step in enumerate(keys):
            child, key = _child(node, step)
            if child is None:
                break
            last = index == len(keys) - 1
            best = key if key_node and last and key is not None else child
            node = child
        return (best.start_mark.line + 1, best.start_mark.column + 1)

    def issue(
        self, code: str, message: str, keys: Sequence[PathKey] = (), *, key_node: bool = False
    ) -> Finding:
        line, col = self.position(keys, key_node=key_node)
        return Finding(self.shown, line, col, code, message)


def _child(node: yaml.Node, step: PathKey) -> tuple[yaml.Node | None, yaml.Node | None]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(step):
                return value_node, key_node
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(step, int)
        and 0 <= step < len(node.value)
    ):
        return node.value[step], None
    return None, None


def load_documents(path: Path) -> tuple[list[YamlDoc], list[Finding]]:
    """Every document of ``path`` (empty ones skipped), or the parse error, located."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Finding(display_path(path), 1, 1, YAML_ERROR, f"cannot read file: {exc}")]
    return load_text(text, path)


def load_text(text: str, path: Path) -> tuple[list[YamlDoc], list[Finding]]:
    """Every document, composed under the kernel's YAML bounds (a merge-key or alias bomb is a
    DV001 naming the bound, never an exponential expansion) and constructed like
    ``yaml.safe_load``."""
    docs: list[YamlDoc] = []
    constructor = SafeConstructor()
    try:
        for index, node in enumerate(compose_documents(text)):
            data = constructor.construct_document(node) if node is not None else None
            if data is not None:
                docs.append(YamlDoc(path, index, data, node))
    except TooComplex as exc:
        return docs, [Finding(display_path(path), 1, 1, YAML_ERROR, f"cannot read: {exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = getattr(exc, "problem", None) or str(exc)
        return docs, [
            Finding(display_path(path), line, col, YAML_ERROR, f"invalid YAML: {problem}")
        ]
    return docs, []
