"""The architecture, checked: layers import only downward (lazy imports included).

Bottom to top: the SDK's stdlib-only facts (``somatrace.policy``, ``somatrace.settings``), the
lint kernel (``somatrace.checks.lint``), analysis and policy, the rules, the fixers, and the
command line (the only importer of fixers). The runtime servers, smoke, eval, monitoring,
digest and deploy products sit beside the rules, above the kernel. The SDK (``somatrace.*``
modules outside ``checks``/``rules``/``fixers``) never imports the gate.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPO

ROOTS = {"sdk/somatrace": "somatrace", "checks": "somatrace.checks", "rules": "somatrace.rules",
         "fixers": "somatrace.fixers"}  # fmt: skip

# Higher numbers may import lower ones, never the reverse.
LAYERS: list[tuple[str, int]] = [
    ("somatrace.checks.cli", 60),
    ("somatrace.checks.lsp", 60),
    ("somatrace.checks.api", 60),
    ("somatrace.fixers", 50),
    ("somatrace.checks.reporters", 45),
    ("somatrace.checks.smoke", 42),
    ("somatrace.checks.eval", 42),
    ("somatrace.checks.digest", 42),
    ("somatrace.checks.monitoring", 42),
    ("somatrace.rules", 40),
    ("somatrace.checks.deploy", 30),
    ("somatrace.checks.runtime", 30),
    ("somatrace.checks.config_files", 30),
    ("somatrace.checks.analysis", 30),
    ("somatrace.checks.policy", 25),
    ("somatrace.checks.lint", 20),
    ("somatrace.checks", 20),  # the package docstring only
    ("somatrace", 10),  # the SDK
]
SDK_MAY_NOT_IMPORT = ("somatrace.checks", "somatrace.rules", "somatrace.fixers")


def module_name(path: Path) -> str:
    for folder, package in ROOTS.items():
        base = REPO / folder
        if base in path.parents:
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            return ".".join([package, *parts])
    raise AssertionError(path)


def layer(name: str) -> int:
    for prefix, number in LAYERS:
        if name == prefix or name.startswith(prefix + "."):
            return number
    raise AssertionError(f"{name} is in no layer")


def modules() -> list[Path]:
    return sorted(p for folder in ROOTS for p in (REPO / folder).rglob("*.py"))


def imports(path: Path) -> list[tuple[int, str]]:
    """Every ``somatrace`` import of a module, at any depth (lazy imports count)."""
    tree = ast.parse(path.read_bytes())
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names if a.name.startswith("somatrace"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if base.startswith("somatrace"):
                out.append((node.lineno, base))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            # importlib.import_module("somatrace.x") with a literal name
            if node.func.attr == "import_module" and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and str(arg.value).startswith("somatrace"):
                    out.append((node.lineno, str(arg.value)))
    return out


def upward_imports(name: str, imported: list[tuple[int, str]]) -> list[str]:
    own = layer(name)
    out = []
    for line, target in imported:
        if layer(target) > own:
            out.append(f"{line}: {target} (layer {layer(target)} above {own})")
        elif own == layer("somatrace") and target.startswith(SDK_MAY_NOT_IMPORT):
            out.append(f"{line}: {target} (the SDK never imports the gate)")
    return out


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_go_downward(path: Path) -> None:
    name = module_name(path)
    upward = upward_imports(name, imports(path))
    assert not upward, f"{name} imports upward:\n" + "\n".join(upward)


def test_every_module_is_in_a_layer() -> None:
    for path in modules():
        layer(module_name(path))


def test_an_upward_import_is_caught() -> None:
    """The check itself can fail: a kernel module importing a fixer, a rule importing the CLI,
    and the SDK importing the gate are each reported."""
    assert upward_imports("somatrace.checks.lint.engine", [(3, "somatrace.fixers")])
    assert upward_imports("somatrace.rules.x", [(1, "somatrace.checks.cli.main")])
    assert upward_imports("somatrace.tracing", [(9, "somatrace.checks.lint.codes")])
    assert not upward_imports("somatrace.checks.cli.fix", [(2, "somatrace.fixers")])
