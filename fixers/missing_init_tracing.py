"""ST101 fixer: insert ``from somatrace.tracing import init_tracing`` and
``init_tracing("<service>")`` where the entrypoint starts.

Where the call goes, by the finding's ``data["scope"]`` (the place the rule found the app or
server start):

- ``module`` (an app built at import time): right before the module-level statement that builds
  the app or starts the server - after the import block and whatever module set-up precedes it
  (e.g. ``load_dotenv()``, so the helper sees that environment);
- ``func:<name>`` (an app factory, a ``main()`` that starts the server): at the top of that
  function, after its docstring;
- ``main`` (``if __name__ == "__main__":``): in that block, right before the statement that
  starts the server (or builds the app);
- a configured entrypoint with neither (``data["kind"] == "configured"``): at the top of its
  ``__main__`` block if it has one, else after the module's import block.

The service name comes from :mod:`somatrace.fixers.support.service_name`; the string uses the file's
own quote character (every character escaped as needed: :func:`string_literal`) and the new lines
the file's own indentation and newline. The function and its module follow the ``init-function``
setting (default ``somatrace.tracing.init_tracing``).

``init-function`` comes from the repository's own config, so it is untrusted: the fix inserts
only somatrace's own ``somatrace.tracing.init_tracing`` or a function the project itself defines
- a dotted name whose module is a file inside the project (found like an import from the
entrypoint, every link resolved) with a top-level ``def`` of that name, checked with ``ast``,
never imported. Anything else (``os.system``, ``subprocess.run``, a module outside the project)
is a config error for ``somatrace fix`` (:meth:`MissingInitTracingFixer.config_problem`).

No fix is offered when the name is already bound to something else in the file; and none is
needed when the same run's (safe) ST102 fix turns a ``Traceloop.init`` call that already runs
before this entrypoint into ``init_tracing``.

Safety: **safe** - it adds only the policy's own, idempotent start-up call.
"""

from __future__ import annotations

import ast
import keyword
import os
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import libcst as cst

from somatrace.checks.lint.boundary import inside, project_root
from somatrace.checks.lint.config import Config
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.modules import module_identity
from somatrace.checks.lint.project import search_roots
from somatrace.checks.lint.source import Unreadable, read_source
from somatrace.fixers.support.base import (
    FileFacts,
    Fixer,
    ImportSpec,
    NoFix,
    Plan,
    statement_like,
    string_literal,
)
from somatrace.fixers.support.imports import is_docstring, leading_block, name_conflict
from somatrace.fixers.support.suites import explode_suite
from somatrace.policy import INIT_TRACING
from somatrace.rules.missing_init_tracing import MissingInitTracing


def chosen_init(config: Config) -> str:
    """The initialiser the fix inserts: the policy's own when configured, else the first."""
    functions = list(config.init_functions)
    return INIT_TRACING if INIT_TRACING in functions or not functions else functions[0]


def init_spec(facts: FileFacts) -> ImportSpec:
    module, _, name = chosen_init(facts.config).rpartition(".")
    return ImportSpec(module, name)


def _module_files(module: str, roots: Iterable[str]) -> Iterable[Path]:
    parts = module.split(".")
    for root in roots:
        base = Path(root, *parts)
        yield base.with_suffix(".py")
        yield base / "__init__.py"


def _defines(path: Path, name: str, max_size: int) -> bool:
    source = read_source(path, max_size)
    if isinstance(source, Unreadable):
        return False
    try:
        tree = ast.parse(source.data, filename=str(path))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
        for node in tree.body
    )


def init_function_problem(
    qualified: str, roots: Iterable[str], project_root: Path, max_size: int
) -> str | None:
    """Why ``qualified`` may not be written into code as the tracing initialiser (None: it
    may): it must be somatrace's own, or a function defined at the top level of a module
    that is a file inside ``project_root`` (looked for under ``roots`` as an import would)."""
    if qualified == INIT_TRACING:
        return None
    module, _, name = qualified.rpartition(".")
    parts = qualified.split(".")
    if not module or not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return f"{qualified!r} is not a dotted name of a function (module.function)"
    if parts[0] == "somatrace":
        return f"{qualified!r} is not somatrace's initialiser ({INIT_TRACING})"
    for candidate in _module_files(module, roots):
        if not os.path.isfile(candidate):
            continue
        if not inside(candidate, project_root):
            return f"module {module!r} of {qualified!r} resolves outside the project ({candidate})"
        if _defines(candidate, name, max_size):
            return None
        return f"{qualified!r}: {candidate} defines no top-level function {name!r}"
    return (
        f"{qualified!r} names no module of this project (only somatrace's {INIT_TRACING} or "
        "a function the project itself defines may be inserted)"
    )


def _roots_for(config: Config, project_root: Path, path: Path | None = None) -> list[str]:
    roots: list[str] = []
    if path is not None:
        _, package_root = module_identity(path)
        roots.extend(search_roots(str(package_root), str(config.root)))
    for base in (config.root, project_root):
        roots.extend((str(base), os.path.join(base, "src")))
    return list(dict.fromkeys(roots))


def _is_main_guard(node: cst.CSTNode) -> bool:
    if not isinstance(node, cst.If) or not isinstance(node.test, cst.Comparison):
        return False
    test = node.test
    if len(test.comparisons) != 1 or not isinstance(test.comparisons[0].operator, cst.Equal):
        return False
    sides = (test.left, test.comparisons[0].comparator)
    names = {s.value for s in sides if isinstance(s, cst.Name)}
    strings = {s.evaluated_value for s in sides if isinstance(s, cst.SimpleString)}
    return names == {"__name__"} and "__main__" in strings


def _child_of_block(facts: FileFacts, node: cst.CSTNode, owner: cst.CSTNode) -> cst.CSTNode | None:
    """The statement of ``owner``'s body (module, function, ``if``) that holds ``node``."""
    body = owner if isinstance(owner, cst.Module) else getattr(owner, "body", None)
    current: cst.CSTNode | None = node
    while current is not None:
        parent = facts.parents.get(current)
        if parent is body:
            return current
        current = parent
    return None


def _first_statement(block: cst.BaseSuite) -> cst.CSTNode | None:
    """The first statement of a function or ``if`` body, after a docstring."""
    body = list(block.body)
    if isinstance(block, cst.IndentedBlock) and body and is_docstring(body[0]):
        return body[1] if len(body) > 1 else None
    return body[0] if body else None


def _covered_by_st102(facts: FileFacts, site: cst.CSTNode, where: cst.CSTNode) -> bool:
    """Whether a safe ST102 rewrite in this file will run ``init_tracing`` before ``site``:
    at module level, or earlier in the same function / main block."""
    from somatrace.fixers.direct_traceloop_init import DirectTraceloopInitFixer

    fixer = DirectTraceloopInitFixer()
    site_line = facts.line_of(site)
    for other in facts.findings:
        if other.code != "ST102":
            continue
        plan = fixer.plan(other, facts)
        if not isinstance(plan, Plan) or not plan.safe:
            continue
        call = plan.replacements[0][0]
        owners = [
            a for a in facts.ancestors(call) if isinstance(a, cst.FunctionDef) or _is_main_guard(a)
        ]
        if not owners:
            return True  # module level: runs at import time
        if owners[0] is where and facts.line_of(call) < site_line:
            return True
    return False


class MissingInitTracingFixer(Fixer):
    RULE = MissingInitTracing
    SAFETY: ClassVar[str] = "safe: adds only the policy's own idempotent start-up call"

    def config_problem(self, config: Config, project_root: Path) -> str | None:
        qualified = chosen_init(config)
        problem = init_function_problem(
            qualified,
            _roots_for(config, project_root),
            project_root,
            int(config.get("max-file-size")),
        )
        if problem is None:
            return None
        where = config.source or config.root
        return f"{where}: `init-function` {problem}; `somatrace fix` will not insert it"

    def plan(self, finding: Finding, facts: FileFacts) -> Plan | NoFix:
        spec = init_spec(facts)
        top = project_root(facts.path, facts.config.root)
        problem = init_function_problem(
            chosen_init(facts.config),
            _roots_for(facts.config, top, facts.path),
            top,
            int(facts.config.get("max-file-size")),
        )
        if problem is not None:
            return NoFix(f"`init-function` {problem}")
        conflict = name_conflict(facts.module, spec)
        if conflict is not None:
            return NoFix(conflict)
        quote = facts.quote()
        service = facts.service_name().name
        code = f"{spec.name}({string_literal(service, quote)})"
        scope = str(finding.data.get("scope", "module"))
        kind = str(finding.data.get("kind", ""))
        description = f"call `{spec.name}({quote}{service}{quote})` at start-up"

        if kind == "configured":
            return self._configured(finding, facts, code, spec, description)
        site = facts.node_at(finding, cst.Call) or next(iter(facts.nodes_at(finding)), None)
        if site is None:
            return NoFix("the reported app or server start was not found in the file")
        if scope.startswith("func:"):
            function = next(
                (a for a in facts.ancestors(site) if isinstance(a, cst.FunctionDef)), None
            )
            if function is None:
                return NoFix("the function that builds the app was not found")
            if _covered_by_st102(facts, site, function):
                return NoFix("the ST102 fix in this function initialises tracing", resolved=True)
            target = _first_statement(function.body)
            assert target is not None
        elif scope == "main":
            guard = next((a for a in facts.ancestors(site) if _is_main_guard(a)), None)
            if guard is None:
                return NoFix("the `__main__` block was not found")
            if _covered_by_st102(facts, site, guard):
                return NoFix(
                    "the ST102 fix in the `__main__` block initialises tracing", resolved=True
                )
            target = _child_of_block(facts, site, guard)
        else:
            if _covered_by_st102(facts, site, facts.module):
                return NoFix("the ST102 fix at module level initialises tracing", resolved=True)
            target = _child_of_block(facts, site, facts.module)
        if target is None:
            return NoFix("no statement to put the call before was found")
        return _insert_call(facts, target, code, description, spec)

    def _configured(
        self, finding: Finding, facts: FileFacts, code: str, spec: ImportSpec, description: str
    ) -> Plan | NoFix:
        guard = next(
            (
                s
                for s in facts.module.body
                if _is_main_guard(s) and facts.line_of(s) == finding.line
            ),
            None,
        )
        if guard is not None:
            assert isinstance(guard, cst.If)
            target = _first_statement(guard.body)
            if target is not None:
                return _insert_call(facts, target, code, description, spec)
        body = list(facts.module.body)
        _, end = leading_block(body)
        statement = statement_like(cst.SimpleStatementLine([]), code, facts.module)
        if end < len(body):
            target = body[end]
            return Plan(description, insert_before=[(target, [statement])], imports=[spec])
        if body:
            return Plan(description, insert_after=[(body[-1], [statement])], imports=[spec])
        return NoFix("the file is empty")


def _already_called(facts: FileFacts, target: cst.CSTNode, code: str) -> bool:
    """Whether the statement right before ``target`` already is the call (a previous run put
    it there and the rule still reports): inserting again would never converge."""
    parent = facts.parents.get(target)
    siblings = list(getattr(parent, "body", ()))
    if target not in siblings:
        return False
    index = siblings.index(target)
    if index == 0:
        return False
    previous = siblings[index - 1]
    rendered = facts.module.code_for_node(previous).strip()
    return rendered == code or rendered.startswith(code + ";")


def _insert_call(
    facts: FileFacts, target: cst.CSTNode, code: str, description: str, spec: ImportSpec
) -> Plan | NoFix:
    if _already_called(facts, target, code):
        return NoFix(f"`{code}` already runs right before the entrypoint starts")
    parent = facts.parents.get(target)
    if isinstance(target, cst.BaseSmallStatement) and isinstance(parent, cst.SimpleStatementSuite):
        # `if __name__ == "__main__": serve()` - the call gets a line of its own, so it
        # visibly runs first: the one-line suite becomes an indented block.
        index = list(parent.body).index(target)
        call = statement_like(target, code, facts.module)

        def explode(node: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(node, cst.SimpleStatementSuite)
            return explode_suite(node, index, call)

        return Plan(description, replacements=[(parent, explode)], imports=[spec])
    statement = statement_like(target, code, facts.module)
    return Plan(description, insert_before=[(target, [statement])], imports=[spec])
