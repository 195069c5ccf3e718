"""Environment variables in YAML, located with PyYAML's node marks (composed under the
kernel's bounds: :mod:`somatrace.checks.lint.yaml_bounds`).

One walker serves Kubernetes manifests (every workload kind, any nesting: it finds container
``env`` lists wherever they are, in every document of a file), Helm values (``env`` /
``extraEnv`` / ``additionalEnv`` as maps or lists), docker-compose ``environment`` (map and
``NAME=value`` list forms), and GitHub workflows (``env:`` at workflow, job and step level,
where a step also sees its job's and workflow's env). Kubernetes ConfigMaps (``data``) and
Secrets (``stringData``) count as environments too, since ``envFrom`` injects them. Anchors,
aliases and ``<<`` merge keys are followed; positions always point at the text that holds the
value (for an alias, the anchored definition).

Nodes are composed, never constructed: custom tags (``!Ref``) cannot break the scan, and no
object is ever built from a file's content.
"""

from __future__ import annotations

import re

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from somatrace.checks.config_files.model import EnvGroup, LocatedVar, ScanProblem, Span, TextIndex
from somatrace.checks.lint.bounds import TooComplex
from somatrace.checks.lint.yaml_bounds import compose_documents

_ENV_KEYS = frozenset(
    {
        "env",
        "environment",
        "extraenv",
        "additionalenv",
        "extraenvvars",
        "envvars",
        "extraenvs",
        "environmentvariables",
        "globalenv",
        "commonenv",
    }
)
_VALUE_FROM = frozenset(
    {"valueFrom", "secretKeyRef", "configMapKeyRef", "fieldRef", "resourceFieldRef"}
)
_EXPORTER_CONTEXT = re.compile(r"otlp|otel|opentelemetry|langfuse|exporter", re.IGNORECASE)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def is_env_key(key: str) -> bool:
    return key.lower() in _ENV_KEYS or key.endswith(("Env", "EnvVars", "_env"))


class YamlEnvScanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.index = TextIndex(text)
        self.groups: list[EnvGroup] = []
        self.headers: list[LocatedVar] = []
        self._walked: set[int] = set()

    # -- entry ----------------------------------------------------------------------------

    def scan(self) -> ScanProblem | None:
        """Scan every document; on invalid YAML, the problem (and nothing scanned)."""
        try:
            documents = list(compose_documents(self.text))
        except TooComplex as exc:
            return ScanProblem(1, 1, f"cannot scan this YAML: {exc}")
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            reason = " ".join(str(part) for part in (exc.context, exc.problem) if part)
            line, col = self.index.position(mark.index) if mark is not None else (1, 1)
            return ScanProblem(line, col, f"invalid YAML: {reason}")
        except (yaml.YAMLError, RecursionError, ValueError) as exc:
            return ScanProblem(1, 1, f"invalid YAML: {type(exc).__name__}: {exc}"[:300])
        try:
            for number, root in enumerate(documents, start=1):
                if root is not None:
                    self._document(root, f"document {number}" if len(documents) > 1 else "")
        except RecursionError:
            return ScanProblem(1, 1, "YAML nested too deeply to scan")
        return None

    def _document(self, root: Node, label: str) -> None:
        if isinstance(root, MappingNode):
            pairs = dict(self._pairs(root))
            kind = _scalar(pairs.get("kind"))
            name = _scalar(_get(pairs.get("metadata"), "name"))
            data_key = {"ConfigMap": "data", "Secret": "stringData"}.get(kind or "")
            if data_key and isinstance(pairs.get(data_key), MappingNode):
                where = f"{kind} {name or ''}".strip()
                entries = self._env_entries(pairs[data_key], where)
                if entries:
                    self.groups.append(EnvGroup(where, tuple(entries)))
            if kind:
                label = f"{kind} {name or ''}".strip()
        self._walk(root, label, ())

    # -- walking --------------------------------------------------------------------------

    def _walk(self, node: Node, where: str, inherited: tuple[LocatedVar, ...]) -> None:
        if id(node) in self._walked:
            return
        self._walked.add(id(node))
        if isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                item_name = _scalar(_get(item, "name")) if isinstance(item, MappingNode) else None
                self._walk(item, f"{where}[{item_name if item_name else i}]", inherited)
            return
        if not isinstance(node, MappingNode):
            return
        pairs = self._pairs(node)
        own: list[LocatedVar] = []
        env_values: set[int] = set()
        for key, value in pairs:
            if is_env_key(key):
                entries = self._env_entries(value, _join(where, key))
                if entries is not None:
                    own.extend(entries)
                    env_values.add(id(value))
        if own:
            self.groups.append(EnvGroup(where or "top level", inherited + tuple(own)))
        below = inherited + tuple(own)
        for key, value in pairs:
            if id(value) in env_values:
                continue
            path = _join(where, key)
            if (
                key == "headers"
                and isinstance(value, MappingNode)
                and _EXPORTER_CONTEXT.search(path)
            ):
                self.headers.extend(self._header_entries(value, path))
                continue
            self._walk(value, path, below)

    def _pairs(self, node: MappingNode) -> list[tuple[str, Node]]:
        """Key text and value of each entry, ``<<`` merges first (explicit keys win)."""
        merged: list[tuple[str, Node]] = []
        explicit: list[tuple[str, Node]] = []
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.tag == _MERGE_TAG:
                sources = value.value if isinstance(value, SequenceNode) else [value]
                for source in reversed(sources):  # earlier merge sources win
                    if isinstance(source, MappingNode) and source is not node:
                        merged.extend(self._pairs(source))
            elif isinstance(key, ScalarNode):
                explicit.append((key.value, value))
        return merged + explicit

    def _key_nodes(self, node: MappingNode) -> list[tuple[ScalarNode, Node]]:
        out: list[tuple[ScalarNode, Node]] = []
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.tag == _MERGE_TAG:
                sources = value.value if isinstance(value, SequenceNode) else [value]
                for source in reversed(sources):
                    if isinstance(source, MappingNode) and source is not node:
                        out.extend(self._key_nodes(source))
            elif isinstance(key, ScalarNode):
                out.append((key, value))
        return out

    # -- env blocks -----------------------------------------------------------------------

    def _env_entries(self, node: Node, where: str) -> list[LocatedVar] | None:
        if isinstance(node, MappingNode):
            out: list[LocatedVar] = []
            for key, value in self._key_nodes(node):
                out.extend(self._map_entry(key, value, where))
            return out
        if isinstance(node, SequenceNode):
            out = []
            for item in node.value:
                if isinstance(item, MappingNode):
                    out.extend(self._k8s_entry(item, where))
                elif isinstance(item, ScalarNode):
                    out.extend(self._list_entry(item, where))
            return out
        return None

    def _map_entry(self, key: ScalarNode, value: Node, where: str) -> list[LocatedVar]:
        if isinstance(value, ScalarNode):
            return [self._scalar_var(key.value, key, value, where)]
        if isinstance(value, MappingNode):
            fields = dict(self._key_nodes_by_name(value))
            if isinstance(fields.get("value"), ScalarNode):
                return [self._scalar_var(key.value, key, fields["value"], where)]
            if _VALUE_FROM & fields.keys():
                return [LocatedVar(key.value, None, self._span(key), where=where)]
        return []

    def _key_nodes_by_name(self, node: MappingNode) -> list[tuple[str, Node]]:
        return [(k.value, v) for k, v in self._key_nodes(node)]

    def _k8s_entry(self, item: MappingNode, where: str) -> list[LocatedVar]:
        fields = {k.value: (k, v) for k, v in self._key_nodes(item)}
        name_pair = fields.get("name")
        if name_pair is None:
            # `- NAME: value` items (a list of one-entry maps, as some charts write env)
            out: list[LocatedVar] = []
            for key, value in self._key_nodes(item):
                out.extend(self._map_entry(key, value, where))
            return out
        if not isinstance(name_pair[1], ScalarNode):
            return []
        name_node = name_pair[1]
        value_pair = fields.get("value")
        if value_pair is not None and isinstance(value_pair[1], ScalarNode):
            return [self._scalar_var(name_node.value, name_node, value_pair[1], where)]
        if "valueFrom" in fields:
            return [LocatedVar(name_node.value, None, self._span(name_node), where=where)]
        return [LocatedVar(name_node.value, "", self._span(name_node), where=where)]

    def _list_entry(self, item: ScalarNode, where: str) -> list[LocatedVar]:
        """A compose ``- NAME=value`` (or bare ``- NAME``: taken from the host)."""
        text = item.value
        name_match = _NAME.match(text)
        if not name_match:
            return []
        name = name_match.group(0)
        rest = text[name_match.end() :]
        start = item.start_mark.index
        body_start = start + (1 if item.style in ("'", '"') else 0)
        verbatim = self.text[body_start : body_start + len(text)] == text and "\n" not in text
        name_span = (
            self.index.span(body_start, body_start + len(name)) if verbatim else self._span(item)
        )
        if not rest.startswith("="):
            if rest.strip():
                return []
            return [LocatedVar(name, None, name_span, where=where)]
        value = rest[1:]
        if not verbatim:
            return [LocatedVar(name, value, name_span, self._span(item), None, where)]
        value_start = body_start + len(name) + 1
        value_span = self.index.span(value_start, value_start + len(value)) if value else None
        token = self.index.token_span(value_start, value)
        return [LocatedVar(name, value, name_span, value_span, token, where)]

    def _header_entries(self, node: MappingNode, where: str) -> list[LocatedVar]:
        return [
            self._scalar_var(key.value, key, value, where)
            for key, value in self._key_nodes(node)
            if isinstance(value, ScalarNode)
        ]

    # -- scalars --------------------------------------------------------------------------

    def _scalar_var(self, name: str, name_node: Node, value: ScalarNode, where: str) -> LocatedVar:
        text = "" if value.tag == _NULL_TAG else value.value
        start, end = value.start_mark.index, value.end_mark.index
        value_span = self._span(value) if end > start else None
        token = None
        if value.style in ("'", '"'):
            inner_start = start + 1
            if self.text[inner_start : inner_start + len(text)] == text and (
                self.text[inner_start + len(text) : inner_start + len(text) + 1] == value.style
            ):
                token = self.index.token_span(inner_start, text)
        elif not value.style and text and self.text[start:end] == text:
            token = self.index.token_span(start, text)
        return LocatedVar(name, text, self._span(name_node), value_span, token, where)

    def _span(self, node: Node) -> Span:
        return self.index.span(node.start_mark.index, node.end_mark.index)


def _scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def _get(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return v
    return None


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
