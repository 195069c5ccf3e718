"""The byte-level import scan finds every module the syntax tree says a file imports at import
time (the project join prunes on it, so a missed import would be a wrong verdict)."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from somatrace.checks.analysis.frameworks import import_time_imports
from somatrace.checks.lint.import_scan import scan_imports
from somatrace.checks.lint.module import parse_module
from somatrace.checks.lint.modules import module_identity

REPO = Path(__file__).resolve().parents[2]


def _missed(path: Path) -> set[str]:
    data = path.read_bytes()
    module_name, _ = module_identity(path)
    is_package = path.name == "__init__.py"
    try:
        module = parse_module(data, module_name, is_package)
    except (SyntaxError, ValueError, RecursionError):
        return set()  # CPython cannot parse it: ST900, no imports to follow
    return set(import_time_imports(module)) - set(scan_imports(data, module_name, is_package))


@pytest.mark.parametrize(
    "tree",
    [Path(sysconfig.get_paths()["stdlib"]), REPO / "checks", REPO / "rules", REPO / "sdk"],
    ids=["stdlib", "checks", "rules", "sdk"],
)
def test_scan_is_a_superset_of_the_syntax_tree_on_real_trees(tree: Path) -> None:
    files = [p for p in sorted(tree.rglob("*.py")) if "site-packages" not in p.parts]
    assert len(files) > 10
    missed = {str(p): m for p in files if (m := _missed(p))}
    assert missed == {}


CASES = {
    "plain": (b"import a.b, c as d\n", None, ["a.b", "c"]),
    "spaced dotted": (b"import a . b\n", None, ["a.b"]),
    "continuation": (b"import a, \\\n    b\n", None, ["a", "b"]),
    "semicolon": (b"import a; import b\n", None, ["a", "b"]),
    "after colon": (b"if x: import a\n", None, ["a"]),
    "comment": (b"import a  # b, c\n", None, ["a"]),
    "from": (b"from m import x, y as z\n", None, ["m", "m.x", "m.y"]),
    "from parens": (b"from m import (\n    x,  # c\n    y,\n)\n", None, ["m", "m.x", "m.y"]),
    "relative": (b"from .obs import setup\n", "app.main", ["app.obs", "app.obs.setup"]),
    "dot only": (b"from . import obs\n", "app.main", ["app", "app.obs"]),
    "no space": (b"from .import obs\n", "app.main", ["app", "app.obs"]),
    "two dots": (b"from ..lib import x\n", "app.sub.main", ["app.lib", "app.lib.x"]),
    "from continuation": (b"from \\\n  m import x\n", None, ["m", "m.x"]),
    "in a function": (b"def f():\n    import a\n", None, ["a"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_scan_reads_every_import_spelling(name: str) -> None:
    data, module_name, expected = CASES[name]
    found = scan_imports(data, module_name, False)
    assert set(expected) <= set(found), found


def test_scan_ignores_words_that_only_look_like_imports() -> None:
    found = scan_imports(b"from x.import_utils import y\nreimport = 1\n", None, False)
    assert "x.import_utils" in found and "reimport" not in found


def test_scan_is_a_superset_on_generated_programs(tmp_path: Path) -> None:
    from tests.hostile import generated  # hypothesmith: programs of CPython's whole grammar

    programs = generated.generate_programs(80, 20261).programs
    assert len(programs) == 80
    missed = {}
    for i, program in enumerate(programs):
        path = tmp_path / f"m{i}.py"
        path.write_bytes(program.source.encode("utf-8", "surrogatepass"))
        if m := _missed(path):
            missed[program.source] = m
    assert missed == {}


# Lines the simple-line match must leave to the general scan, or read exactly as it does.
EDGES = [
    b"from pkg \\\nimport a\n",  # a `from` joined by a continuation
    b"from pkg \\\r\nimport a\r\n",
    b"from a.from import x\n",  # the nearest `from` is not the line's first
    b"from x import import_y, z\n",
    b"from here import import\n",  # a second keyword inside the list
    b"import a, \\\n  b\n",
    b"import a\rimport b\r",  # old Mac line endings
    b"import a\r\nimport b\r\n",
    b"  from  ..pkg.sub   import  x  as  y ,  z   # why\n",
    b"from  import x\n",
    b"import abc\xc3\xa9\n",
    b"import a;import b\n",
    b"import a\x0c\n",
    b"from m import (a, b)\n",
    b"import a.b.c as d,e\n",
    b'"""\nimport inside_a_string\n"""\n',
    b"x = 1 \\\nimport a\n",
    b"from " + b"a" * 400 + b" import x\n",
    b"import " + b", ".join(b"n%d" % i for i in range(5000)) + b"\n",
    b"import a\n" * 3 + b"import",
]


@pytest.mark.parametrize("index", range(len(EDGES)))
def test_the_simple_line_match_reads_edge_cases_as_the_general_scan(index: int) -> None:
    data = EDGES[index]
    for module_name, is_package in ((None, False), ("app.sub.main", False), ("app", True)):
        fast = scan_imports(data, module_name, is_package)
        assert fast == scan_imports(data, module_name, is_package, simple_lines=False)


@pytest.mark.parametrize(
    "tree",
    [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"]), REPO],
    ids=["stdlib", "site-packages", "repo"],
)
def test_the_simple_line_match_reads_real_trees_as_the_general_scan(tree: Path) -> None:
    files = sorted(tree.rglob("*.py"))[:6000]
    assert len(files) > 100
    differ = []
    for path in files:
        data = path.read_bytes()
        module_name, _ = module_identity(path)
        is_package = path.name == "__init__.py"
        fast = scan_imports(data, module_name, is_package)
        if fast != scan_imports(data, module_name, is_package, simple_lines=False):
            differ.append(str(path))
    assert differ == []
