"""The project model: every module's facts joined, and questions answered across modules.

Built once per run from the facts each file's analysis produced (cached per file), and from
more files on demand (a module an entrypoint imports, the module a tracer is imported from).
The questions rules ask:

- :meth:`ProjectModel.kinds`: what a term (:mod:`.provenance`) may be — an OpenTelemetry
  tracer, a web app, a project function, an external name — following imports, return values,
  parameters at the project's own call sites and attributes of ``self``, across modules;
- :meth:`ProjectModel.resolve_module`: which file ``import x.y`` runs from a given module;
- :meth:`ProjectModel.facet`: a rule-specific fact sheet of any project module (e.g. ST101's
  "does it initialise tracing at import time"), computed on demand and cached.

Resolution is flow-insensitive and context-insensitive (a parameter is everything any call
site passes), which over-approximates; recursion through cycles contributes nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from somatrace.checks.lint.known import ApiTable
from somatrace.checks.lint.provenance import UNKNOWN, Term

EMPTY: frozenset[str] = frozenset()
# Set when the run reports what each finding depends on (--changed-since): no shortcut then.
DEPENDENCIES_HINT = "dependencies"
_STDLIB = frozenset(sys.stdlib_module_names) | {"builtins"}
_MAX_CLASS_DEPTH = 12
# A chain of values longer than this (a value from a call of a function returning a value from
# ...) contributes nothing; counted in `ProjectModel.truncated`.
MAX_RESOLUTION_DEPTH = 150


def to_term(value: Any) -> Any:
    """JSON lists back into hashable term tuples. (A list comprehension, recursing only into
    lists: a project join converts ~1.3 M of them, a quarter faster than a generator.)"""
    if type(value) is not list:
        return value
    return tuple([v if type(v) is not list else to_term(v) for v in value])


class ImportScans(Mapping[str, tuple[bool, list[str]]]):
    """What the byte scan of each file read this run found: path -> (spells an init function,
    modules it may import). The first is known for every file up front (cheap, from a cached
    result's bytes); the import lists are read on first use, which a join asks for only when
    some file spells the init function or a project file was not scanned (see
    :meth:`ProjectModel.import_ancestors`), and the engine scans a file for them only then
    (a worker scans one only where a screen reads its imports)."""

    def __init__(self, spells: dict[str, bool], imports: Callable[[str], list[str]]) -> None:
        self._spells = spells
        self._imports = imports
        self._read: dict[str, tuple[bool, list[str]]] = {}
        self.spelling = frozenset(path for path, spelled in spells.items() if spelled)

    def __getitem__(self, path: str) -> tuple[bool, list[str]]:
        found = self._read.get(path)
        if found is None:
            found = self._read[path] = (self._spells[path], self._imports(path))
        return found

    def __contains__(self, path: object) -> bool:
        return path in self._spells

    def __iter__(self) -> Iterator[str]:
        return iter(self._spells)

    def __len__(self) -> int:
        return len(self._spells)


@dataclass(eq=False)
class ModuleFacts:
    """One module as the project model sees it."""

    path: str
    module_name: str | None
    roots: tuple[str, ...]  # where its absolute imports are looked up, first match wins
    globals: dict[str, Term] = field(default_factory=dict)
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    classes: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, Term, tuple[Term, ...], dict[str, Term]]] = field(default_factory=list)

    @classmethod
    def from_facts(
        cls, path: str, module_name: str | None, roots: tuple[str, ...], raw: dict[str, Any]
    ) -> ModuleFacts:
        functions = {}
        for qualname, fn in raw.get("functions", {}).items():
            fn = dict(fn)
            for key in ("returns", "yields"):
                fn[key] = to_term(fn[key])
            fn["ann"] = {k: to_term(v) for k, v in fn.get("ann", {}).items()}
            fn["defaults"] = {k: to_term(v) for k, v in fn.get("defaults", {}).items()}
            functions[qualname] = fn
        classes = {
            qualname: {
                "bases": [to_term(b) for b in c.get("bases", [])],
                "attrs": {k: to_term(v) for k, v in c.get("attrs", {}).items()},
            }
            for qualname, c in raw.get("classes", {}).items()
        }
        calls = [
            (
                key,
                to_term(callee),
                to_term(args),
                {k: to_term(v) for k, v in kw.items()},
            )
            for key, callee, args, kw in raw.get("calls", [])
        ]
        return cls(
            path=path,
            module_name=module_name,
            roots=roots,
            globals={k: to_term(v) for k, v in raw.get("globals", {}).items()},
            functions=functions,
            classes=classes,
            calls=calls,
        )


class ModuleIndex:
    """Which file ``import a.b`` runs, looked up in a listing of the project's Python files
    (no ``stat`` per lookup)."""

    def __init__(self, files: Iterable[str]) -> None:
        self.files = frozenset(files)
        self._identity: dict[str, tuple[str | None, str]] = {}
        # Every folder that holds a Python file: a folder without `__init__.py` is still a
        # (PEP 420 namespace) package when an import names it.
        dirs: set[str] = set()
        # Folder -> the names an import may find in it (its modules' stems, its sub-folders):
        # most imports a project's files spell are of other distributions (`os`, `fastapi`),
        # and a name absent here ends a lookup with one test instead of three path joins.
        self._names: dict[str, set[str]] = {}
        for path in self.files:
            parent, name = os.path.split(path)
            self._names.setdefault(parent, set()).add(name[:-3] if name.endswith(".py") else name)
            while parent not in dirs and parent != os.path.dirname(parent):
                dirs.add(parent)
                above, base = os.path.split(parent)
                self._names.setdefault(above, set()).add(base)
                parent = above
        self.dirs = frozenset(dirs)
        # (dotted, roots) -> files: the listing never changes during a run, and ST101 asks the
        # same imports again on every round of the project join (1.4 M lookups, 50 s, on 6,860
        # real files before this).
        self._resolved: dict[tuple[str, tuple[str, ...]], list[str]] = {}

    def is_package_dir(self, directory: str) -> bool:
        return os.path.join(directory, "__init__.py") in self.files

    def identity(self, path: str) -> tuple[str | None, str]:
        """``(dotted module name, folder it is relative to)``, from the listing: the packages
        are the folders holding an ``__init__.py``."""
        found = self._identity.get(path)
        if found is not None:
            return found
        directory, name = os.path.split(path)
        parts = [] if name == "__init__.py" else [name[:-3]]
        while self.is_package_dir(directory):
            parent, base = os.path.split(directory)
            parts.insert(0, base)
            if parent == directory:
                break
            directory = parent
        module = ".".join(parts) if parts and all(p.isidentifier() for p in parts) else None
        result = (module, directory)
        self._identity[path] = result
        return result

    def module_files(self, dotted: str, roots: Iterable[str]) -> list[str]:
        """Files executed by ``import dotted`` (package ``__init__`` files included), from the
        first root that holds the module; empty when it is not a project module."""
        key = (dotted, tuple(roots))
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = self._module_files(dotted, key[1])
        return list(found)

    def _module_files(self, dotted: str, roots: tuple[str, ...]) -> list[str]:
        parts = dotted.split(".")
        for root in roots:
            found: list[str] = []
            namespace = 0
            directory = root
            for i, part in enumerate(parts):
                if part not in self._names.get(directory, ()):
                    break  # no module, package or folder of that name here
                last = i == len(parts) - 1
                # os.path.join's result, by concatenation (a third of a lookup's time)
                package = (
                    directory + part if directory.endswith(os.sep) else directory + _SEP + part
                )
                init = package + _INIT
                if init in self.files:
                    found.append(init)
                    directory = package
                elif last and package + ".py" in self.files:
                    found.append(package + ".py")
                elif not last and package in self.dirs:
                    directory = package  # a namespace package runs no code of its own
                    namespace += 1
                else:
                    break
            else:
                if found:
                    return found
                continue
            if found and len(found) + namespace == len(parts) - 1:
                return found
        return []

    def module_file(self, dotted: str, roots: Iterable[str]) -> str | None:
        files = self.module_files(dotted, roots)
        if not files:
            return None
        # `import a.b` when only `a/__init__.py` exists does not make `a.b` a module.
        expected = dotted.rsplit(".", 1)[-1]
        last = files[-1]
        stem = (
            os.path.basename(os.path.dirname(last))
            if last.endswith("__init__.py")
            else (os.path.basename(last)[:-3])
        )
        return last if stem == expected else None


_SEP = os.sep
_INIT = os.sep + "__init__.py"


def _path_parts(path: str) -> list[str]:
    """Every name on ``path``: its folders' and its own without ``.py`` (what the first name of
    an import reaching it can be, under any root)."""
    folder, name = os.path.split(path)
    return [*folder.split(_SEP), name[:-3] if name.endswith(".py") else name]


def search_roots(package_root: str, stop_at: str) -> tuple[str, ...]:
    """Where an absolute import from a file may be found: its own root, then each ancestor up to
    the project root (a monorepo's shared packages), each with a ``src/`` layout variant."""
    roots: list[str] = []
    current = package_root
    stop = stop_at.rstrip(os.sep) or os.sep
    while True:
        roots.append(current)
        roots.append(os.path.join(current, "src"))
        if current == stop or not current.startswith(stop + os.sep):
            break
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return tuple(roots)


Loader = Callable[[str], ModuleFacts | None]
FacetLoader = Callable[[str, str], Any]
Describer = Callable[[str], tuple[str | None, tuple[str, ...]]]


class ProjectModel:
    def __init__(
        self,
        index: ModuleIndex,
        api: ApiTable,
        load: Loader,
        load_facet: FacetLoader,
        describe: Describer,
    ) -> None:
        self.index = index
        self.api = api
        self._load = load
        self._load_facet = load_facet
        self._describe = describe
        self._modules: dict[str, ModuleFacts | None] = {}
        self._facets: dict[tuple[str, str], Any] = {}
        self._memo: dict[tuple[Term, str], frozenset[str]] = {}
        self._active: set[tuple[Term, str]] = set()
        self._globals: dict[tuple[str, tuple[str, ...]], frozenset[str]] = {}
        self._sites: dict[str, list[tuple[Any, ModuleFacts]]] = {}
        self._sources: list[str] = []
        self._indexed_count = 0
        self._function_args: dict[str, list[tuple[Any, ModuleFacts, int]]] = {}
        self._callers: dict[tuple[str, str], list[tuple[Any, ModuleFacts, int]]] = {}
        self.used: set[str] = set()  # every file whose facts a verdict rested on
        self.truncated = 0  # resolutions cut at MAX_RESOLUTION_DEPTH
        # What the engine knows about the whole project besides facts, by name (e.g. which
        # files spell an init function, when every project file was read this run).
        self.hints: dict[str, Any] = {}
        # Per-run memo of the analyses that ask the whole project (keys owned by the module
        # that fills them), like FileContext.memo for one file.
        self.memo: dict[str, Any] = {}
        # The facets of the modules the rules read this run, by facet name (set by the engine).
        self.read_facets: Callable[[str], Iterable[Any]] = lambda name: ()
        # What a byte scan of each file read this run found (set by the engine): whether it
        # spells an init function, and the modules it may import (a superset, see
        # :mod:`.import_scan`). A project file missing here was not read: anything is possible.
        self.scans: ImportScans = ImportScans({}, lambda path: [])
        self._ancestors: dict[frozenset[str], frozenset[str]] = {}

    # -- modules ----------------------------------------------------------------------------

    def add(self, facts: ModuleFacts) -> None:
        self._modules[facts.path] = facts
        self._sources.append(facts.path)

    def module(self, path: str) -> ModuleFacts | None:
        if path not in self._modules:
            self._modules[path] = self._load(path)
        found = self._modules[path]
        if found is not None:
            self.used.add(path)
        return found

    def facet(self, path: str, name: str) -> Any:
        key = (path, name)
        if key not in self._facets:
            self._facets[key] = self._load_facet(path, name)
        self.used.add(path)
        return self._facets[key]

    def context_for(self, path: str) -> ModuleFacts:
        """A module to resolve imports from: its facts when loaded, else its name and roots."""
        found = self._modules.get(path)
        if found is not None:
            return found
        module_name, roots = self._describe(path)
        return ModuleFacts(path, module_name, roots)

    def resolve_module(self, dotted: str, ctx: ModuleFacts) -> list[str]:
        return self.index.module_files(dotted, ctx.roots)

    def reads_import_scans(self) -> bool:
        """Whether :meth:`import_ancestors` of the files that spell an init function reads the
        import scans: some file spells one, or a project file was not scanned this run."""
        return bool(self.scans.spelling) or any(p not in self.scans for p in self.index.files)

    def import_ancestors(self, seeds: frozenset[str]) -> frozenset[str]:
        """The files from which an import chain may reach one of ``seeds`` (the seeds
        included), by the byte scans; a project file not scanned this run counts as a seed.
        Over-approximates the syntax tree's import graph, so a file outside the answer cannot
        reach a seed by importing."""
        found = self._ancestors.get(seeds)
        if found is not None:
            return found
        reached = set(seeds) | {p for p in self.index.files if p not in self.scans}
        if not reached:  # nothing to reach (no file spells it, every file was scanned)
            self._ancestors[seeds] = EMPTY
            return EMPTY
        # An import can reach a file only if its first name is one of the file's path parts
        # (the folder a root holds it under, or the module itself), so only those imports are
        # resolved, as files are reached: resolving every import of the project took 0.3 s on
        # llm-services for 21 unscanned files under node_modules that nothing imports.
        by_first: dict[str, list[tuple[str, str]]] = {}
        for path, (_, names) in self.scans.items():
            for name in names:
                by_first.setdefault(name.partition(".")[0], []).append((path, name))
        importers: dict[str, list[str]] = {}
        stack = list(reached)
        while stack:
            target = stack.pop()
            for part in _path_parts(target):
                for path, name in by_first.pop(part, ()):
                    for found in self.index.module_files(name, self._describe(path)[1]):
                        importers.setdefault(found, []).append(path)
            for importer in importers.get(target, ()):
                if importer not in reached:
                    reached.add(importer)
                    stack.append(importer)
        self._ancestors[seeds] = result = frozenset(reached)
        return result

    # -- kinds ------------------------------------------------------------------------------

    def kinds(self, term: Term, ctx: ModuleFacts) -> frozenset[str]:
        key = (term, ctx.path)
        found = self._memo.get(key)
        if found is not None:
            return found
        if key in self._active or len(self._active) > MAX_RESOLUTION_DEPTH:
            self.truncated += key not in self._active
            return EMPTY
        self._active.add(key)
        try:
            result = self._kinds(term, ctx)
        finally:
            self._active.discard(key)
        self._memo[key] = result
        return result

    def _kinds(self, term: Term, ctx: ModuleFacts) -> frozenset[str]:
        head = term[0]
        if head == "k":
            return frozenset((term[1],))
        if head == "any":
            out: set[str] = set()
            gather = Gather()
            for part in term[1]:
                out |= gather(self.kinds, part, ctx)
            gather.settle()
            return frozenset(out)
        if head == "m":
            value = ctx.globals.get(term[1])
            return EMPTY if value is None else self.kinds(value, ctx)
        if head == "fn":
            return frozenset((f"func:{ctx.path}:{term[1]}",))
        if head == "cls":
            return frozenset((f"class:{ctx.path}:{term[1]}",))
        if head == "self":
            return self.instance_kinds(ctx.path, term[1], 0)
        if head == "g":
            return self.global_kinds(term[1], ctx)
        if head == "attr":
            return self.attribute_kinds(self.kinds(term[1], ctx), term[2])
        if head == "call":
            return self.call_kinds(term[1], ctx)
        if head == "enter":
            return self.enter_kinds(term[1], ctx)
        if head == "p":
            return self.param_kinds(ctx, term[1], term[2], term[3])
        return EMPTY

    def global_kinds(self, name: str, ctx: ModuleFacts) -> frozenset[str]:
        key = (name, ctx.roots)
        found = self._globals.get(key)
        if found is not None:
            return found
        self._globals[key] = EMPTY  # a cycle through imports contributes nothing
        try:
            result = self._global_kinds(name, ctx)
        except Missing:
            del self._globals[key]
            raise
        self._globals[key] = result
        return result

    def _global_kinds(self, name: str, ctx: ModuleFacts) -> frozenset[str]:
        if self.api.known(name) or name.split(".", 1)[0] in _STDLIB:
            return frozenset((f"ext:{name}",))
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            path = self.index.module_file(".".join(parts[:i]), ctx.roots)
            if path is None:
                continue
            if i == len(parts):
                return frozenset((f"module:{path}",))
            result = self.attribute_kinds(frozenset((f"module:{path}",)), parts[i])
            for part in parts[i + 1 :]:
                result = self.attribute_kinds(result, part)
            return result
        return frozenset((f"ext:{name}",))

    def attribute_kinds(self, kinds: frozenset[str], attr: str) -> frozenset[str]:
        out: set[str] = set()
        gather = Gather()  # `model.request` over many project classes: one round for all
        for kind in kinds:
            if kind.startswith("ext:"):
                out.add(f"{kind}.{attr}")
            elif kind.startswith("module:"):
                out |= gather(self._module_attribute, kind[7:], attr)
            elif kind.startswith("inst:"):
                path, _, qualname = kind[5:].rpartition(":")
                out |= gather(self._class_attribute, path, qualname, attr, True, 0)
            elif kind.startswith("class:"):
                path, _, qualname = kind[6:].rpartition(":")
                out |= gather(self._class_attribute, path, qualname, attr, False, 0)
            else:
                method = self.api.methods.get((kind, attr))
                if method is not None:
                    out.add(method)
        gather.settle()
        return frozenset(out)

    def _class_attribute(
        self, path: str, qualname: str, attr: str, bound: bool, depth: int
    ) -> frozenset[str]:
        """:meth:`class_attribute` with positional arguments, for :class:`Gather`."""
        return self.class_attribute(path, qualname, attr, bound=bound, depth=depth)

    def _module_attribute(self, path: str, attr: str) -> frozenset[str]:
        facts = self.module(path)
        if facts is None:
            return EMPTY
        if facts.module_name:
            full = f"{facts.module_name}.{attr}"
            if self.api.known(full):
                return frozenset((f"ext:{full}",))
        value = facts.globals.get(attr)
        if value is not None:
            return self.kinds(value, facts)
        if facts.module_name:  # a submodule: `import pkg` then `pkg.sub`
            sub = self.index.module_file(f"{facts.module_name}.{attr}", facts.roots)
            if sub is not None:
                return frozenset((f"module:{sub}",))
        return EMPTY

    def class_attribute(
        self, path: str, qualname: str, attr: str, *, bound: bool, depth: int
    ) -> frozenset[str]:
        facts = self.module(path)
        cls = facts.classes.get(qualname) if facts is not None else None
        if facts is None or cls is None or depth > _MAX_CLASS_DEPTH:
            return EMPTY
        value = cls["attrs"].get(attr)
        if value is not None:
            kinds = self.kinds(value, facts)
            if not bound:
                return kinds
            out = set()
            for kind in kinds:
                if kind.startswith("func:"):
                    fn = self._function(kind)
                    if fn is not None and not fn.get("static") and not fn.get("classmethod"):
                        out.add("bound:" + kind[5:])
                        continue
                out.add(kind)
            return frozenset(out)
        out = set()
        gather = Gather()
        for base in cls["bases"]:
            for kind in gather(self.kinds, base, facts):
                if kind.startswith("class:"):
                    base_path, _, base_name = kind[6:].rpartition(":")
                    out |= gather(
                        self._class_attribute, base_path, base_name, attr, bound, depth + 1
                    )
                elif kind.startswith("ext:"):
                    instance = self.api.types.get(kind[4:])
                    if instance is not None:
                        method = self.api.methods.get((instance, attr))
                        if method is not None:
                            out.add(method)
        gather.settle()
        return frozenset(out)

    def instance_kinds(self, path: str, qualname: str, depth: int) -> frozenset[str]:
        """An instance of a project class: itself, and the kinds of the library classes it
        derives from (``class ChatApp(FastAPI)`` builds a FastAPI app)."""
        out = {f"inst:{path}:{qualname}"}
        facts = self.module(path)
        cls = facts.classes.get(qualname) if facts is not None else None
        if facts is None or cls is None or depth > _MAX_CLASS_DEPTH:
            return frozenset(out)
        for base in cls["bases"]:
            for kind in self.kinds(base, facts):
                if kind.startswith("ext:"):
                    instance = self.api.types.get(kind[4:])
                    if instance is not None:
                        out.add(instance)
                elif kind.startswith("class:"):
                    base_path, _, base_name = kind[6:].rpartition(":")
                    out |= {
                        k
                        for k in self.instance_kinds(base_path, base_name, depth + 1)
                        if not k.startswith("inst:")
                    }
        return frozenset(out)

    def _function(self, kind: str) -> dict[str, Any] | None:
        path, _, qualname = kind.split(":", 1)[1].rpartition(":")
        facts = self.module(path)
        return facts.functions.get(qualname) if facts is not None else None

    def call_kinds(self, callee: Term, ctx: ModuleFacts) -> frozenset[str]:
        out: set[str] = set()
        gather = Gather()
        for kind in self.kinds(callee, ctx):
            if kind.startswith("ext:"):
                name = kind[4:]
                result = self.api.calls.get(name) or self.api.types.get(name)
                if result is not None:
                    out.add(result)
            elif kind.startswith(("func:", "bound:")):
                out |= gather(self._returns, kind)
            elif kind.startswith("class:"):
                path, _, qualname = kind[6:].rpartition(":")
                out |= gather(self.instance_kinds, path, qualname, 0)
            else:
                result = self.api.results.get(kind)
                if result is not None:
                    out.add(result)
        gather.settle()
        return frozenset(out)

    def _returns(self, kind: str) -> frozenset[str]:
        """What a project function (``func:``/``bound:`` kind) returns."""
        path, _, qualname = kind.split(":", 1)[1].rpartition(":")
        facts = self.module(path)
        fn = facts.functions.get(qualname) if facts is not None else None
        return EMPTY if fn is None or facts is None else self.kinds(fn["returns"], facts)

    def enter_kinds(self, value: Term, ctx: ModuleFacts) -> frozenset[str]:
        out: set[str] = set()
        if value[0] == "call":
            for kind in self.kinds(value[1], ctx):
                if kind.startswith(("func:", "bound:")):
                    path, _, qualname = kind.split(":", 1)[1].rpartition(":")
                    facts = self.module(path)
                    fn = facts.functions.get(qualname) if facts is not None else None
                    if fn is not None and facts is not None and fn.get("cm"):
                        out |= self.kinds(fn["yields"], facts)
        for kind in self.kinds(value, ctx):
            entered = self.api.enters.get(kind)
            if entered is not None:
                out.add(entered)
        return frozenset(out)

    # -- parameters -------------------------------------------------------------------------

    def param_kinds(self, ctx: ModuleFacts, qualname: str, index: int, name: str) -> frozenset[str]:
        fn = ctx.functions.get(qualname)
        if fn is None or (index < 0 and name not in fn["kwonly"]):
            # `*args` / `**kwargs`: a tuple or a dict the call builds, never an argument (a
            # call's `kwargs=` keyword lands inside the dict); so no call site is asked.
            return EMPTY
        out: set[str] = set()
        annotation = fn["ann"].get(str(index))
        if annotation is not None:
            out |= self.kinds(annotation, ctx)
        default = fn["defaults"].get(str(index))
        if default is not None:
            out |= self.kinds(default, ctx)
        gather = Gather()  # each call site's argument is its own question
        for site, site_ctx, offset in self.callers(ctx, qualname, fn):
            out |= gather(self._argument_kinds, site, site_ctx, index - offset, index, name)
        gather.settle()
        return frozenset(out)

    def _argument_kinds(
        self, site: Any, site_ctx: ModuleFacts, position: int, index: int, name: str
    ) -> frozenset[str]:
        _, _, args, keywords = site
        found: tuple[Term, ModuleFacts] | None = None
        if index >= 0 and position >= 0:
            found = self._positional(args, position, site_ctx)
        if found is None and name in keywords:
            found = (keywords[name], site_ctx)
        if found is None or found[0] == UNKNOWN:
            return EMPTY
        return self.kinds(found[0], found[1])

    def _positional(
        self, args: tuple[Term, ...], position: int, ctx: ModuleFacts
    ) -> tuple[Term, ModuleFacts] | None:
        """The argument a call passes at ``position``, looking into ``*spread`` tuples whose
        elements are known (``f(*args)`` with ``args = (a, tracer)``, or returned by a call)."""
        flat: list[tuple[Term, ModuleFacts]] = []
        for arg in args:
            if arg and arg[0] == "*":
                elements = self.tuple_elements(arg[1], ctx, 0) if len(arg) > 1 else None
                if elements is None:
                    break  # positions after an unknown spread cannot be told
                flat.extend(elements)
            else:
                flat.append((arg, ctx))
            if len(flat) > position:
                return flat[position]
        return flat[position] if position < len(flat) else None

    def tuple_elements(
        self, term: Term, ctx: ModuleFacts, depth: int
    ) -> list[tuple[Term, ModuleFacts]] | None:
        """The element terms of a tuple value, when one alternative says what they are."""
        if depth > 8:
            return None
        head = term[0]
        if head == "tuple":
            return [(element, ctx) for element in term[1]]
        if head == "m":
            value = ctx.globals.get(term[1])
            return None if value is None else self.tuple_elements(value, ctx, depth + 1)
        if head == "any":
            for part in term[1]:
                found = self.tuple_elements(part, ctx, depth + 1)
                if found is not None:
                    return found
            return None
        if head == "call":
            for kind in self.kinds(term[1], ctx):
                if kind.startswith(("func:", "bound:")):
                    path, _, qualname = kind.split(":", 1)[1].rpartition(":")
                    facts = self.module(path)
                    fn = facts.functions.get(qualname) if facts is not None else None
                    if fn is not None and facts is not None:
                        found = self.tuple_elements(fn["returns"], facts, depth + 1)
                        if found is not None:
                            return found
        return None

    def _closure_names(self, qualname: str) -> list[str]:
        """The names a closure ``D.<locals>.F`` is called by: ``D`` returns it, so it is called
        by the names of the functions ``D`` decorates (``@D def name``)."""
        outer = qualname.rsplit(".<locals>.", 1)[0]
        decorator = outer.rsplit(".", 1)[-1]
        names: list[str] = []
        for site, _ in self._sites.get(decorator, ()):
            for arg in site[2][:1]:
                if type(arg) is tuple and arg and arg[0] in ("fn", "cls"):
                    names.append(arg[1].rsplit(".", 1)[-1])
        return names

    def _index_sites(self) -> None:
        # Call sites come from the modules the rules read (``add``): a parameter is what those
        # pass. Modules loaded on demand answer for their own values but add no callers, so an
        # answer never depends on the order in which modules were loaded.
        for path in self._sources[self._indexed_count :]:
            facts = self._modules.get(path)
            if facts is None:
                continue
            for site in facts.calls:
                for key in _site_keys(site[1], facts):
                    self._sites.setdefault(key, []).append((site, facts))
                for position, arg in enumerate(site[2]):
                    for name in _function_names(arg):
                        self._function_args.setdefault(name, []).append((site, facts, position))
        self._indexed_count = len(self._sources)

    def callers(
        self, ctx: ModuleFacts, qualname: str, fn: dict[str, Any]
    ) -> list[tuple[Any, ModuleFacts, int]]:
        """Call sites that may call ``qualname`` of ``ctx``, with the number of arguments the
        call binds implicitly (``self`` for a bound method or a constructor)."""
        key = (ctx.path, qualname)
        found = self._callers.get(key)
        if found is not None:
            return found
        self._callers[key] = []  # recursion through a caller's own parameters stops here
        try:
            out = self._find_callers(ctx, qualname)
        except Missing:
            del self._callers[key]
            raise
        self._callers[key] = out
        return out

    def _find_callers(self, ctx: ModuleFacts, qualname: str) -> list[tuple[Any, ModuleFacts, int]]:
        self._index_sites()
        name = qualname.rsplit(".", 1)[-1]
        plain = f"func:{ctx.path}:{qualname}"
        bound = f"bound:{ctx.path}:{qualname}"
        constructor = None
        keys = [name]
        if name == "__init__" and "." in qualname:
            class_qualname = qualname.rsplit(".", 1)[0]
            constructor = f"class:{ctx.path}:{class_qualname}"
            keys.append(class_qualname.rsplit(".", 1)[-1])
        if "<locals>" in qualname:
            keys.extend(self._closure_names(qualname))
        out: list[tuple[Any, ModuleFacts, int]] = []
        # Every site is a separate question: the modules any of them lacks are asked for in
        # one round of the join (one at a time, a common name took a round per call site).
        gather = Gather()
        for site_key in dict.fromkeys(keys):
            for site, site_ctx in self._sites.get(site_key, ()):
                kinds = gather(self.kinds, site[1], site_ctx)
                if plain in kinds:
                    out.append((site, site_ctx, 0))
                elif bound in kinds or (constructor is not None and constructor in kinds):
                    out.append((site, site_ctx, 1))
        # Passed as an argument, it is called through the parameter it lands in: the calls of
        # that parameter (`func(tracer, ...)` in a decorator) are its calls too.
        for site, site_ctx, position in self._function_args.get(name, ()):
            if plain not in gather(self.kinds, site[2][position], site_ctx):
                continue
            for kind in gather(self.kinds, site[1], site_ctx):
                if kind.startswith(("func:", "bound:")):
                    offset = 1 if kind.startswith("bound:") else 0
                    path, _, receiver = kind.split(":", 1)[1].rpartition(":")
                    param_key = f"param:{path}:{receiver}:{position + offset}"
                    out.extend((s, c, 0) for s, c in self._sites.get(param_key, ()))
        gather.settle()
        return out


def _site_keys(callee: Term, facts: ModuleFacts) -> list[str]:
    """The names a call site is found by: the callee's last name, or for a parameter called as
    a function, the parameter itself."""
    head = callee[0]
    if head == "g":
        name: str = callee[1]
        return [] if name.split(".", 1)[0] in _STDLIB else [name.rsplit(".", 1)[-1]]
    if head in ("m", "fn", "cls"):
        return [callee[1].rsplit(".", 1)[-1]]
    if head == "attr":
        return [callee[2]]
    if head == "any":
        return [key for part in callee[1] for key in _site_keys(part, facts)]
    if head == "p":
        return [f"param:{facts.path}:{callee[1]}:{callee[2]}"]
    return []


def _function_names(arg: Any) -> list[str]:
    """Names under which ``arg`` may pass a project function (``@D def f``, ``D(f)``)."""
    if type(arg) is not tuple or not arg:
        return []
    head = arg[0]
    if head in ("fn", "cls", "m"):
        return [arg[1].rsplit(".", 1)[-1]]
    if head == "g":
        return [arg[1].rsplit(".", 1)[-1]]
    if head == "any":
        return [name for part in arg[1] for name in _function_names(part)]
    return []


class Missing(Exception):
    """Raised by a loader that will not parse now: the facts of ``path`` (facet ``name``) are
    needed. The engine fetches every missing module of a round on all cores, then asks again;
    nothing derived from a missing module is remembered. A question that can tell several
    modules it needs at once (a breadth-first walk of imports) raises them together."""

    def __init__(self, path: str, name: str, *more: tuple[str, str]) -> None:
        super().__init__(path, name)
        self.wanted = [(path, name), *more]


class Gather:
    """Asks independent questions and collects what modules they lack: ``gather(f, *args)``
    is ``f(*args)``, or no kinds when that raises :class:`Missing`; :meth:`settle` then raises
    one :class:`Missing` for all of them, so the join fetches them in one round. Sound because
    nothing derived from a missing module is remembered, and the answers that did not raise
    are complete."""

    def __init__(self) -> None:
        self.wanted: dict[tuple[str, str], None] = {}

    def __call__(self, question: Callable[..., frozenset[str]], *args: Any) -> frozenset[str]:
        try:
            return question(*args)
        except Missing as need:
            self.wanted.update(dict.fromkeys(need.wanted))
            return EMPTY

    def settle(self) -> None:
        if self.wanted:
            (path, name), *more = self.wanted
            raise Missing(path, name, *more)


def matches_kind(kinds: frozenset[str], wanted: str) -> bool:
    """``wanted`` is a kind, or a prefix ending in ``*`` (``app:*``)."""
    if wanted.endswith("*"):
        prefix = wanted[:-1]
        return any(k.startswith(prefix) for k in kinds)
    return wanted in kinds


def relative_roots(path: Path, stop_at: Path, index: ModuleIndex) -> tuple[str, ...]:
    _, package_root = index.identity(str(path))
    return search_roots(package_root, str(stop_at))
