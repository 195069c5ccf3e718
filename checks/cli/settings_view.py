"""``--show-settings`` (the resolved configuration of a file, each value with where it came
from) and ``--show-files`` (the files a check would read)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from somatrace.checks.lint.config import OPTIONS, Config
from somatrace.checks.lint.engine import Engine, display_path


def settings_of(engine: Engine, path: Path) -> dict[str, Any]:
    config = engine.config_for(engine.resolver.for_path(path))
    outer = engine.resolver.enclosing(config)
    not_inherited = None
    if outer is not None and outer.source not in config.chain:
        not_inherited = str(outer.source)
    return {
        "path": display_path(Path(path).absolute(), engine.cwd),
        "config_file": str(config.source) if config.source else None,
        "extends": [str(p) for p in config.chain[1:]],
        "not_inherited": not_inherited,
        "project_root": str(config.root),
        "settings": {
            key: {"value": config.get(key), "origin": config.origin(key)} for key in sorted(OPTIONS)
        },
    }


def render_text(view: dict[str, Any]) -> str:
    lines = [f"# Settings for {view['path']}"]
    lines.append(f"# config file: {view['config_file'] or 'none (defaults)'}")
    for extended in view["extends"]:
        lines.append(f"# extends: {extended}")
    if view["not_inherited"]:
        lines.append(
            f"# not inherited: {view['not_inherited']} (this config has no `extend`; "
            'add extend = "<path to it>" to inherit its policy)'
        )
    lines.append(f"# patterns are relative to: {view['project_root']}")
    width = max(len(k) for k in view["settings"])
    for key, item in view["settings"].items():
        value = json.dumps(item["value"], ensure_ascii=False)
        lines.append(f"{key:<{width}} = {value}  # {item['origin']}")
    return "\n".join(lines) + "\n"


def show_settings(engine: Engine, paths: list[Path], as_json: bool) -> str:
    views = [settings_of(engine, p) for p in paths]
    if as_json:
        return json.dumps(views if len(views) != 1 else views[0], indent=2) + "\n"
    return "\n".join(render_text(v) for v in views)


def config_roots(configs: list[Config]) -> list[Path]:
    return sorted({c.root for c in configs})
