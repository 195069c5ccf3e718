"""A careful line scan for YAML that is not YAML yet: Helm templates (``{{ }}``) and files the
YAML parser rejects. It finds the three shapes environment variables take, line by line:

- ``NAME: value`` (maps: Helm values, compose, workflows, ConfigMaps),
- ``- NAME=value`` (compose lists),
- ``- name: NAME`` followed by ``value: ...`` at the same indentation, or
  ``- {name: NAME, value: ...}`` (Kubernetes env lists).

Values holding a template (``{{ .Values.x }}``) are references: the policy does not judge them.
Without the structure, the whole file counts as one environment.
"""

from __future__ import annotations

import re

from somatrace.checks.config_files.model import EnvGroup, LocatedVar, TextIndex

_KEY = re.compile(
    r"^(?P<lead>[ \t]*(?:-[ \t]+)?)(?P<q>[\"']?)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?P=q)"
    r"[ \t]*:(?:[ \t]+(?P<value>.*?))?[ \t]*\r?$"
)
_LIST = re.compile(
    r"^[ \t]*-[ \t]+(?P<q>[\"']?)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*?)(?P=q)[ \t]*\r?$"
)
_FLOW_ENTRY = re.compile(
    r"\{[ \t]*name:[ \t]*(?P<q>[\"']?)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?P=q)[ \t]*,[ \t]*"
    r"value:[ \t]*(?P<value>\"[^\"]*\"|'[^']*'|[^,}\s]+)[ \t]*\}"
)
_NOT_SCALAR = ("{", "[", "|", ">", "&", "*", "!")


def _value_text(raw: str) -> str:
    """The value as written: through the closing quote, or up to a `` #`` comment."""
    if raw[:1] in ("'", '"'):
        close = raw.find(raw[0], 1)
        return raw if close == -1 else raw[: close + 1]
    comment = re.search(r"[ \t]#", raw)
    return (raw[: comment.start()] if comment else raw).rstrip()


def _unquoted(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in ("'", '"'):
        return raw[1:-1]
    return raw


def scan_lines(text: str, where: str = "file (line scan)") -> tuple[EnvGroup, ...]:
    index = TextIndex(text)
    found: list[LocatedVar] = []
    pending: tuple[str, int, int, int] | None = None  # name, key column, name start, name end
    for number, line in enumerate(text.split("\n"), start=1):
        offset = index.starts[number - 1]
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        flow = list(_FLOW_ENTRY.finditer(line))
        if flow:
            for entry in flow:
                written = entry.group("value")
                start = offset + entry.start("value")
                found.append(
                    LocatedVar(
                        entry.group("name"),
                        _unquoted(written),
                        index.span(offset + entry.start("name"), offset + entry.end("name")),
                        index.span(start, start + len(written)),
                        index.token_span(start, written),
                        where,
                    )
                )
            continue
        listed = _LIST.match(line)
        if listed:
            pending = None
            value = listed.group("value")
            start = offset + listed.start("value")
            found.append(
                LocatedVar(
                    listed.group("name"),
                    value,
                    index.span(offset + listed.start("name"), offset + listed.end("name")),
                    index.span(start, start + len(value)) if value else None,
                    index.token_span(start, value),
                    where,
                )
            )
            continue
        match = _KEY.match(line)
        if match is None:
            continue
        key_col = len(match.group("lead"))
        starts_item = "-" in match.group("lead")
        if pending is not None and (
            key_col < pending[1] or (starts_item and key_col <= pending[1])
        ):
            pending = None
        name = match.group("name")
        raw_value = match.group("value") or ""
        if raw_value.startswith(_NOT_SCALAR) and not raw_value.startswith("{{"):
            continue
        written = _value_text(raw_value)
        value_start = offset + (match.start("value") if match.group("value") else match.end())
        if name == "name" and written:
            pending = (
                _unquoted(written),
                key_col,
                value_start,
                value_start + len(written),
            )
            continue
        if name == "value" and pending is not None and key_col == pending[1]:
            env_name, _, name_start, name_end = pending
            pending = None
            found.append(
                LocatedVar(
                    env_name,
                    _unquoted(written),
                    index.span(name_start, name_end),
                    index.span(value_start, value_start + len(written)) if written else None,
                    index.token_span(value_start, written),
                    where,
                )
            )
            continue
        if written and name not in ("name", "value"):
            found.append(
                LocatedVar(
                    name,
                    _unquoted(written),
                    index.span(offset + match.start("name"), offset + match.end("name")),
                    index.span(value_start, value_start + len(written)),
                    index.token_span(value_start, written),
                    where,
                )
            )
    return (EnvGroup(where, tuple(found)),) if found else ()
