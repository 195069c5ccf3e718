"""Whether a project refers to a function anywhere outside the module that defines it.

ST101 asks it about a function shaped like a library helper (see
:meth:`somatrace.checks.analysis.frameworks.EntrypointAnalysis._helper_shape`): a helper no
code of the project calls (`launch_gradio_demo(tool)`, `to_a2a(agent)`, which the *user's*
module calls) is not the project's entrypoint; a factory the project serves is referred to
somewhere — called, imported under another name, named in an import string
(``uvicorn.run("app.main:create_app", factory=True)``), or named in a deployment file
(``gunicorn 'app.main:create_app("prod")'`` in a Procfile or Dockerfile).

What counts, in a Python file: the name read as a variable or an attribute, an import of it
under another name (``from m import f as g``: ``g`` is what the code then calls), or a string
holding ``:name``. A docstring or a plain string that mentions it (a code example, an
``__all__`` entry), a comment, or a plain ``from m import name`` (a re-export; the calls that
follow are what counts) do not. In a deployment or configuration file (Dockerfile, Procfile,
Makefile, shell scripts, TOML/YAML/INI/JSON, ``entry_points.txt``) in a folder of the project,
any whole-word mention counts.

ST101 also asks about a server function shaped like a background task (a module-level
``async def`` its own module never refers to): :func:`task_uses` tells whether each file only
hands it to a task spawner (``asyncio.create_task(serve())``, ``tg.start_soon(serve)``) or
refers to it otherwise; a program (a file with ``__main__``) that spawns it counts as the
latter, since it is what runs the process.

One pass over the project's files answers every name asked in a run: a file is read once, and
parsed only when its bytes spell one of the names.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from somatrace.checks.lint.byte_words import IDENTIFIER_BYTES, has_word
from somatrace.checks.lint.module import walk
from somatrace.checks.lint.screen_words import Vocabulary
from somatrace.checks.lint.source import Unreadable, read_bytes

_DEPLOY_NAMES = frozenset({"Dockerfile", "Containerfile", "Procfile", "Makefile", "justfile"})
_DEPLOY_SUFFIXES = (
    ".toml", ".cfg", ".ini", ".yaml", ".yml", ".json", ".sh", ".bash", ".conf", ".service",
    ".env", ".dockerfile", ".mk", ".tf", ".hcl",
)  # fmt: skip
_ENTRY_POINTS = "entry_points.txt"  # a wheel's console scripts
MAX_BYTES = 4 * 1024 * 1024  # larger files are generated data, not deployment


def is_deploy_file(name: str) -> bool:
    return (
        name in _DEPLOY_NAMES
        or name == _ENTRY_POINTS
        or name.startswith("Dockerfile")
        or name.endswith(_DEPLOY_SUFFIXES)
    )


def references(nodes: Iterable[ast.AST], name: str) -> Iterator[ast.AST]:
    """The nodes among ``nodes`` that refer to ``name`` (see the module docstring): a ``Name``
    or ``Attribute`` spelling it, a string holding ``":name"``, an import of it under another
    name."""
    marker = ":" + name
    for node in nodes:
        kind = type(node)
        if kind is ast.Name:
            if node.id == name:  # type: ignore[attr-defined]
                yield node
        elif kind is ast.Attribute:
            if node.attr == name:  # type: ignore[attr-defined]
                yield node
        elif kind is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            if type(value) is str and marker in value:
                yield node
        elif kind is ast.alias:
            imported = node.name.rsplit(".", 1)[-1]  # type: ignore[attr-defined]
            if imported == name and node.asname not in (None, name):  # type: ignore[attr-defined]
                yield node


def code_refers_to(tree: ast.AST, name: str) -> bool:
    """Whether the code of ``tree`` refers to ``name``."""
    return next(references(walk(tree), name), None) is not None


# Calls that start a coroutine as a task of an event loop that is already running (asyncio,
# anyio, trio): `asyncio.create_task(serve())`, `loop.create_task`, `tg.start_soon`.
TASK_SPAWNERS = frozenset(
    {"create_task", "ensure_future", "start_soon", "run_coroutine_threadsafe"}
)


def _callee_name(call: ast.Call) -> str | None:
    func = call.func
    if type(func) is ast.Name:
        return func.id
    if type(func) is ast.Attribute:
        return func.attr
    return None


def _names(node: ast.expr, name: str) -> bool:
    kind = type(node)
    return (kind is ast.Name and node.id == name) or (  # type: ignore[attr-defined]
        kind is ast.Attribute and node.attr == name  # type: ignore[attr-defined]
    )


def task_uses(tree: ast.AST, name: str) -> tuple[int, int]:
    """How the code of ``tree`` refers to ``name``: ``(spawned, other)``, the calls of it that
    are handed to a task spawner (``create_task(name(...))``) and every other reference
    (:func:`references`: a call, an await, a read, an import under another name, a
    ``":name"`` string)."""
    spawned_funcs: set[int] = set()
    nodes = list(walk(tree))
    for node in nodes:
        if type(node) is ast.Call and _callee_name(node) in TASK_SPAWNERS and node.args:
            inner = node.args[0]
            if type(inner) is ast.Call and _callee_name(inner) == name:
                spawned_funcs.add(id(inner.func))  # create_task(name(...))
            elif _names(inner, name):
                spawned_funcs.add(id(inner))  # tg.start_soon(name, ...): anyio takes the function
    spawned = sum(1 for node in references(nodes, name) if id(node) in spawned_funcs)
    other = sum(1 for node in references(nodes, name) if id(node) not in spawned_funcs)
    return spawned, other


def _read(path: str) -> bytes | None:
    data = read_bytes(path, MAX_BYTES)
    return None if isinstance(data, Unreadable) else data


@dataclass
class TaskUses:
    """Where the project refers to a coroutine function: files that only hand it to a task
    spawner, and files that refer to it otherwise (a program, ``__main__``, that spawns it
    counts as the latter: it is what runs the process)."""

    spawners: set[str] = field(default_factory=set)
    others: set[str] = field(default_factory=set)


def referring_files(
    python_files: Iterable[str],
    folders: Iterable[str],
    names: set[str],
    tasks: Iterable[str] = (),
) -> tuple[dict[str, set[str]], list[str], dict[str, TaskUses]]:
    """For each of ``names``, files that refer to it (at least two, when two exist): the
    Python files among ``python_files``, and the deployment files directly in ``folders``;
    every file read (what the answer rests on); and for each of ``tasks``, how every Python
    file refers to it (:func:`task_uses`). One read of each file answers both."""
    found: dict[str, set[str]] = {name: set() for name in names}
    uses: dict[str, TaskUses] = {name: TaskUses() for name in tasks}
    read: list[str] = []
    spelled = [(name, name.encode()) for name in names]
    task_words = [(name, name.encode()) for name in uses]
    # Each file's words found by one scan (Hyperscan, as the screens do), not one search of
    # its bytes per name: 0.28 -> 0.24 s for seven names over llm-services' 4,706 files.
    vocabulary = Vocabulary(warmup=0)
    for _, word in (*spelled, *task_words):
        vocabulary.learn(word)
    for path in python_files:
        # Two referring files settle a name for every module defining it (one of them may be
        # its own module): a common name stops being looked for early.
        open_names = [(name, word) for name, word in spelled if len(found[name]) < 2]
        # A task is settled the same way: two files that use it otherwise (one may be its own
        # module) keep it reported.
        open_tasks = [(name, word) for name, word in task_words if len(uses[name].others) < 2]
        if not open_names and not open_tasks:
            break
        data = _read(path)
        if data is None:
            continue
        read.append(path)
        view = vocabulary.view(data)
        wanted = [name for name, word in open_names if has_word(view, word, IDENTIFIER_BYTES)]
        spawned = [name for name, word in open_tasks if has_word(view, word, IDENTIFIER_BYTES)]
        if not wanted and not spawned:
            continue
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            for name in wanted:  # cannot tell: count it as a reference
                found[name].add(path)
            for name in spawned:
                uses[name].others.add(path)
            continue
        for name in wanted:
            if code_refers_to(tree, name):
                found[name].add(path)
        program = b"__main__" in data
        for name in spawned:
            by_task, other = task_uses(tree, name)
            if other or (by_task and program):
                uses[name].others.add(path)
            elif by_task:
                uses[name].spawners.add(path)
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if not is_deploy_file(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            data = _read(entry.path)
            if data is None:
                continue
            read.append(entry.path)
            for name, word in spelled:
                if has_word(data, word, IDENTIFIER_BYTES):
                    found[name].add(entry.path)
    return found, read, uses


def folders_under(folders: Iterable[str], root: str) -> list[str]:
    """The folders of ``folders`` (a :class:`~.project.ModuleIndex`'s listing) that are
    ``root`` or below it."""
    top = root.rstrip(os.sep)
    return sorted(f for f in folders if f == top or f.startswith(top + os.sep))
