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

# `key: value` and `- NAME=value` lines. Each head is matched by a regex that has one way to
# match; the value after it is cut by :func:`_value_end` in linear time (the former
# `(?P<value>.*?)[ \t]*\r?$` took seconds on a line with a long run of blanks before its last
# character: every blank retried the whole run).
_KEY_HEAD = re.compile(
    r"^(?P<lead>[ \t]*(?:-[ \t]+)?)(?P<q>[\"']?)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?P=q)[ \t]*:"
)
_LIST_HEAD = re.compile(r"^[ \t]*-[ \t]+(?P<q>[\"']?)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)=")


def _value_end(line: str, start: int) -> int:
    """Where a value starting at ``start`` ends: before the blanks (and one carriage return)
    that end the line."""
    end = len(line) - 1 if line.endswith("\r") else len(line)
    while end > start and line[end - 1] in " \t":
        end -= 1
    return end


def _key_line(line: str) -> tuple[str, str, int, str | None, int] | None:
    """A `key: value` line: (lead, name, where the name starts, value or None, where the value
    starts)."""
    head = _KEY_HEAD.match(line)
    if head is None:
        return None
    after = head.end()
    blanks = len(line) - len(line[after:].lstrip(" \t")) - after
    if not blanks:
        if line[after:] not in ("", "\r"):
            return None
        return head["lead"], head["name"], head.start("name"), None, len(line)
    start = after + blanks
    value = line[start : _value_end(line, start)]
    return head["lead"], head["name"], head.start("name"), value, start


def _list_line(line: str) -> tuple[str, int, int, str, int] | None:
    """A `- NAME=value` line: (name, name start, name end, value, where the value starts)."""
    head = _LIST_HEAD.match(line)
    if head is None:
        return None
    start = head.end()
    end = _value_end(line, start)
    quote = head["q"]
    if quote:
        if end - 1 < start or line[end - 1] != quote:
            return None
        end -= 1
    return head["name"], head.start("name"), head.end("name"), line[start:end], start


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
        listed = _list_line(line)
        if listed:
            pending = None
            list_name, name_start, name_end, value, value_at = listed
            start = offset + value_at
            found.append(
                LocatedVar(
                    list_name,
                    value,
                    index.span(offset + name_start, offset + name_end),
                    index.span(start, start + len(value)) if value else None,
                    index.token_span(start, value),
                    where,
                )
            )
            continue
        keyed = _key_line(line)
        if keyed is None:
            continue
        lead, name, name_at, matched_value, value_at = keyed
        key_col = len(lead)
        starts_item = "-" in lead
        if pending is not None and (
            key_col < pending[1] or (starts_item and key_col <= pending[1])
        ):
            pending = None
        raw_value = matched_value or ""
        if raw_value.startswith(_NOT_SCALAR) and not raw_value.startswith("{{"):
            continue
        written = _value_text(raw_value)
        value_start = offset + (value_at if matched_value else len(line))
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
                    index.span(offset + name_at, offset + name_at + len(name)),
                    index.span(value_start, value_start + len(written)),
                    index.token_span(value_start, written),
                    where,
                )
            )
    return (EnvGroup(where, tuple(found)),) if found else ()
