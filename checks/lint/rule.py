"""The shape of a rule. One rule = one class in one module under ``rules/``.

Like Fixit's ``LintRule`` and Ruff's violation docs, a rule carries everything about itself:

- ``CODE`` (stable, e.g. ``ST101``) and ``NAME`` (kebab-case, e.g. ``missing-init-tracing``);
- its docstring, written in Ruff's sections (*What it does*, *Why is this bad?*, *Example*,
  *Use instead*, *Fix safety*), printed by ``somatrace explain CODE``;
- ``FIX``: whether its findings can be fixed (:class:`FixAvailability`), read by ``rules``,
  ``explain``, the reporters, SARIF and ``fix`` alike;
- ``VALID`` and ``INVALID`` samples that the shared harness (``tests/rules``) turns into tests;
- ``TRIGGERS`` / :meth:`Rule.applies_to`: the cheap screen. A file is parsed only when some
  selected rule can apply to it.

A :class:`PythonRule` asks the parsed :class:`~somatrace.checks.lint.module.Module` (one
``ast`` parse and one index per file, shared by every rule) and reports. What one file cannot
decide — is this receiver, imported from another module, an OpenTelemetry tracer? — it
*defers*: the finding is kept with a query, and :meth:`PythonRule.settle` answers it against
the whole project (:class:`~somatrace.checks.lint.project.ProjectModel`) after every file has
been read. Rules never walk trees themselves.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from somatrace.checks.lint.config import Config
from somatrace.checks.lint.findings import Finding, Fix
from somatrace.checks.lint.import_scan import scan_imports
from somatrace.checks.lint.known import ApiTable

if TYPE_CHECKING:
    import ast

    from somatrace.checks.lint.module import Module
    from somatrace.checks.lint.project import ModuleFacts, ProjectModel


class FixAvailability(enum.Enum):
    """Whether ``somatrace fix`` can fix a rule's findings (Ruff's ``FixAvailability``)."""

    NONE = "none"  # never: what to do is the author's decision
    ALWAYS = "always"  # every finding has a fix
    SOMETIMES = "sometimes"  # some findings have a fix; each says whether it is safe

    @property
    def fixable(self) -> bool:
        return self is not FixAvailability.NONE


@dataclass(frozen=True)
class Valid:
    """Code on which the rule must report nothing."""

    code: str
    path: str = "services/demo/app/main.py"
    files: Mapping[str, str] = field(default_factory=dict)  # other project files, path -> code
    config: Mapping[str, Any] = field(default_factory=dict)  # [tool.somatrace] overrides
    why: str = ""


@dataclass(frozen=True)
class Expect:
    """One finding an :class:`Invalid` sample must produce (1-based line and column)."""

    line: int
    col: int | None = None
    message: str | None = None  # a fragment the message must contain
    path: str | None = None  # defaults to the sample's path


@dataclass(frozen=True)
class Invalid:
    """Code on which the rule must report.

    Samples are dedented and their leading newline dropped before they are written, so line 1
    is the first line after the opening quotes. ``line``/``col``/``message`` describe the first
    finding and ``count`` how many there are; ``expect`` lists every finding instead (in order
    of position). ``expected_fixed`` (when given) is what the rule's fixer must turn ``code``
    into.
    """

    code: str
    line: int | None = None
    col: int | None = None
    message: str | None = None  # a fragment the message must contain
    count: int = 1
    path: str = "services/demo/app/main.py"
    files: Mapping[str, str] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    expected_fixed: str | None = None
    expect: tuple[Expect, ...] = ()
    why: str = ""


# FileContext.memo's key of the file's import scan (the engine sends it along when made).
IMPORT_SCAN_MEMO = "import-scan"


@dataclass
class FileContext:
    """What a rule knows about the file it checks."""

    path: Path  # absolute
    relpath: str  # relative to the config root, POSIX
    module_name: str | None  # dotted module name, from the enclosing packages
    is_package: bool
    config: Config
    is_configured_entrypoint: bool = False
    # Per-file memo shared by every rule run on this file (e.g. one YAML parse for ST202,
    # ST401 and ST402). Keys are owned by the module that fills them.
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def display_path(self) -> str:  # findings are made relative to the config root
        return self.relpath

    def imports(self, source: bytes) -> list[str]:
        """The modules ``source`` (this file's bytes) may import, by the byte scan of
        :mod:`.import_scan`: computed once per file for every screen and the project join."""
        found = self.memo.get(IMPORT_SCAN_MEMO)
        if found is None or found[0] is not source:
            found = self.memo[IMPORT_SCAN_MEMO] = (
                source,
                scan_imports(source, self.module_name, self.is_package),
            )
        return found[1]

    def lowered(self, source: bytes) -> bytes:
        """``source`` with ASCII letters lowercased, once per file: a case-insensitive screen
        is then a plain substring search (what ``re.IGNORECASE`` means for a bytes pattern,
        at memmem speed instead of a regex attempt at every position)."""
        found = self.memo.get("lowered")
        if found is None or found[0] is not source:
            found = self.memo["lowered"] = (source, source.lower())
        return found[1]


Facet = Callable[["Module", FileContext], Any]


class Rule:
    CODE: ClassVar[str]
    NAME: ClassVar[str]
    TRIGGERS: ClassVar[tuple[bytes, ...]] = ()
    FIX: ClassVar[FixAvailability] = FixAvailability.NONE
    VALID: ClassVar[list[Valid]] = []
    INVALID: ClassVar[list[Invalid]] = []

    def __init__(self, ctx: FileContext) -> None:
        # Cooperative, so a rule that is both a Python and a text rule (ST401, ST402) gets
        # the same context through either base.
        super().__init__()
        self.ctx = ctx

    @classmethod
    def docs(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        return cls.docs().splitlines()[0] if cls.__doc__ else cls.NAME

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        """The cheap screen: can this rule report anything in this file?"""
        return any(trigger in source for trigger in cls.TRIGGERS)


@dataclass
class Deferred:
    """A finding whose verdict needs the whole project: reported if ``settle`` says so."""

    finding: Finding
    query: Any  # JSON-able


class PythonRule(Rule):
    """A rule over one parsed Python module."""

    # Knowledge of third-party APIs the project model needs for this rule's queries.
    API: ClassVar[tuple[ApiTable, ...]] = ()
    # Named fact sheets the project join may ask about any module (computed in the workers
    # for files this rule applies to, on demand for others, cached with the file).
    FACETS: ClassVar[Mapping[str, Facet]] = {}
    # Whether the join answers this rule's questions with one pass over the whole project that
    # serves them all (ST101's reference pass): then they are one unit of the join's work, and
    # one process answers them. Otherwise each package's questions are a unit of their own
    # (:mod:`.join_lanes`).
    JOIN_AS_ONE: ClassVar[bool] = False
    # Whether the rule's join reads the byte scans of which modules each file may import
    # (``ProjectModel.scans``): the engine then scans every file first, on all cores, when
    # the model says they will be read (the workers scan only where a screen asked).
    READS_IMPORT_SCANS: ClassVar[bool] = False

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.findings: list[Finding] = []
        self.deferred: list[Deferred] = []
        self.module: Module | None = None

    def run(self, module: Module) -> None:
        self.module = module
        self.check(module)

    def check(self, module: Module) -> None:
        raise NotImplementedError

    def finding(
        self,
        node: ast.AST,
        message: str,
        *,
        fix: Fix | None = None,
        data: dict[str, Any] | None = None,
    ) -> Finding:
        assert self.module is not None
        span = self.module.span(node)
        return Finding(
            path=self.ctx.display_path,
            line=span.line,
            col=span.col,
            end_line=span.end_line,
            end_col=span.end_col,
            code=self.CODE,
            message=message,
            fix=fix,
            data=data or {},
        )

    def report(
        self,
        node: ast.AST,
        message: str,
        *,
        fix: Fix | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.findings.append(self.finding(node, message, fix=fix, data=data))

    def defer(
        self,
        node: ast.AST,
        message: str,
        query: Any,
        *,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.deferred.append(Deferred(self.finding(node, message, data=data), query))

    def defer_finding(self, finding: Finding, query: Any) -> None:
        self.deferred.append(Deferred(finding, query))

    @classmethod
    def settle(
        cls, finding: Finding, query: Any, project: ProjectModel, facts: ModuleFacts
    ) -> Iterable[Finding]:
        """The findings a deferred one becomes, once the whole project is known."""
        return ()


class TextRule(Rule):
    """A rule over a non-Python file (YAML, ``.env``, Dockerfile ...), matched by file name.

    ``FILE_PATTERNS`` are globs (see :mod:`somatrace.checks.lint.globs`) on the path relative
    to the config root; discovery includes every file that matches one of them.
    """

    FILE_PATTERNS: ClassVar[tuple[str, ...]] = ()

    def check_text(self, text: str, ctx: FileContext) -> Iterable[Finding]:
        raise NotImplementedError
