"""The JSON Schema of ``[tool.somatrace]``, generated from :data:`~.config.OPTIONS` (the one
place options are declared) and shipped as ``schema/somatrace.schema.json`` for editors
(``tests/cli/test_schema.py`` proves the shipped file is this function's output)::

    python -m somatrace.checks.lint.schema_gen > checks/lint/schema/somatrace.schema.json
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from somatrace.checks.lint import config
from somatrace.checks.lint.selectors import known_codes

SCHEMA_ID = (
    "https://github.com/somatrace/somatrace/raw/main/checks/lint/schema/somatrace.schema.json"
)


def _selectors() -> list[str]:
    prefixes = {"ALL"}
    for code in known_codes():
        prefixes.update(code[:n] for n in range(2, len(code) + 1))
    return sorted(prefixes)


def _fragment(parse: Any) -> dict[str, Any]:
    strings = {"type": "array", "items": {"type": "string"}}
    codes = {"type": "array", "items": {"enum": _selectors()}}
    table = {
        config._list_of_str: strings,
        config._str_or_list: {"anyOf": [{"type": "string"}, strings]},
        config._bool: {"type": "boolean"},
        config._codes: codes,
        config._glob_to_codes: {"type": "object", "additionalProperties": codes},
        config._glob_to_str: {"type": "object", "additionalProperties": {"type": "string"}},
        config._int: {"type": "integer", "minimum": 0},
        config._positive_number: {"type": "number", "exclusiveMinimum": 0},
        config._ratio: {"type": "number", "minimum": 0, "maximum": 1},
        config._number: {"type": "number"},
    }
    return dict(table[parse])


def build_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key, option in sorted(config.OPTIONS.items()):
        fragment = _fragment(option.parse)
        fragment["description"] = option.help
        fragment["default"] = option.default
        properties[key] = fragment
    for extra, target in config.EXTENDING.items():
        fragment = _fragment(config.OPTIONS[target].parse)
        fragment["description"] = f"added to `{target}` (and to what `extend` inherits)"
        properties[extra] = fragment
    properties[config.EXTEND] = {
        "type": "string",
        "description": "path (relative to this file) of a pyproject.toml or somatrace.toml "
        "whose [tool.somatrace] settings this one inherits",
    }
    for name, owner in config.FOREIGN_TABLES.items():
        properties[name] = {"type": "object", "description": f"read by {owner}"}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        "title": "[tool.somatrace]",
        "description": "somatrace's configuration in pyproject.toml (or a somatrace.toml)",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


def shipped_schema() -> dict[str, Any]:
    text = resources.files("somatrace.checks.lint").joinpath("schema/somatrace.schema.json")
    return json.loads(text.read_text(encoding="utf-8"))


def render() -> str:
    return json.dumps(build_schema(), indent=2) + "\n"


if __name__ == "__main__":
    print(render(), end="")
