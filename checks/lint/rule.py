"""The shape of a rule. One rule = one class in one module under ``rules/``.

Like Fixit's ``LintRule`` and Ruff's violation docs, a rule carries everything about itself:

- ``CODE`` (stable, e.g. ``ST101``) and ``NAME`` (kebab-case, e.g. ``missing-init-tracing``);
- its docstring, written in Ruff's sections (*What it does*, *Why is this bad?*, *Example*,
  *Use instead*, *Fix safety*), printed by ``somatrace explain CODE``;
- ``VALID`` and ``INVALID`` samples that the shared harness (``tests/rules``) turns into tests;
- ``TRIGGERS``: byte strings of which at least one must occur in a file for the rule to be able
  to report anything there. The engine never parses a file that no selected rule can apply to.

Python rules are LibCST batchable visitors: the engine parses each file once and runs every
applicable rule in one traversal, resolving only the metadata the rules ask for.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import CodeRange, PositionProvider, ProviderT

from somatrace.checks.lint.config import Config
from somatrace.checks.lint.findings import Finding, Fix


@dataclass(frozen=True)
class Valid:
    """Code on which the rule must report nothing."""

    code: str
    path: str = "services/demo/app/main.py"
    files: Mapping[str, str] = field(default_factory=dict)  # other project files, path -> code
    config: Mapping[str, Any] = field(default_factory=dict)  # [tool.somatrace] overrides
    why: str = ""


@dataclass(frozen=True)
class Invalid:
    """Code on which the rule must report, at ``line``/``col`` (1-based) when given.

    Samples are dedented and their leading newline dropped before they are written, so line 1
    is the first line after the opening quotes.

    ``expected_fixed`` (when given) is what the rule's fixer must turn ``code`` into.
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
    why: str = ""


@dataclass
class FileContext:
    """What a rule knows about the file it checks."""

    path: Path  # absolute
    display_path: str  # as reported
    relpath: str  # relative to the config root, POSIX
    module_name: str | None  # dotted module name, from the enclosing packages
    package_root: Path  # the folder the module name is relative to
    config: Config
    is_configured_entrypoint: bool = False
    # Per-file memo shared by every rule run on this file (e.g. one YAML parse for ST202,
    # ST401 and ST402). Keys are owned by the module that fills them.
    memo: dict[str, Any] = field(default_factory=dict)


class Rule:
    CODE: ClassVar[str]
    NAME: ClassVar[str]
    TRIGGERS: ClassVar[tuple[bytes, ...]] = ()
    FIXABLE: ClassVar[bool] = False
    VALID: ClassVar[list[Valid]] = []
    INVALID: ClassVar[list[Invalid]] = []

    def __init__(self, ctx: FileContext) -> None:
        # Every rule is built for one file; cooperative, so a rule that is both a Python and
        # a text rule (ST401, ST402) gets the same context through either base.
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
        """The cheap pre-filter: can this rule report anything in this file?"""
        return any(trigger in source for trigger in cls.TRIGGERS)


class PythonRule(Rule, cst.BatchableCSTVisitor):
    """A rule over a Python module's concrete syntax tree."""

    # Only what the rule reads while visiting; positions of reported nodes come for free.
    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = ()

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.findings: list[Finding] = []
        self.pending: list[tuple[cst.CSTNode, str, Fix | None, dict[str, Any] | None]] = []

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        fix: Fix | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Report ``node``. Positions are computed once per file, after the visit, and only
        when something was reported — unless the rule asked for ``PositionProvider`` itself
        (because it compares lines while visiting), in which case they are already there."""
        if PositionProvider in self.METADATA_DEPENDENCIES:
            self._add(self.get_metadata(PositionProvider, node), message, fix, data)
        else:
            self.pending.append((node, message, fix, data))

    def resolve_pending(self, positions: Mapping[cst.CSTNode, CodeRange]) -> None:
        """Turn the reports made during the visit into located findings."""
        for node, message, fix, data in self.pending:
            self._add(positions[node], message, fix, data)
        self.pending.clear()

    def _add(
        self, pos: CodeRange, message: str, fix: Fix | None, data: dict[str, Any] | None
    ) -> None:
        self.findings.append(
            Finding(
                path=self.ctx.display_path,
                line=pos.start.line,
                col=pos.start.column + 1,
                end_line=pos.end.line,
                end_col=pos.end.column + 1,
                code=self.CODE,
                message=message,
                fix=fix,
                data=data or {},
            )
        )

    def file_summary(self) -> Any:
        """JSON-able facts about this file for a project-level pass (see :class:`ProjectRule`)."""
        return None


class ProjectRule(PythonRule):
    """A rule that needs the whole project (e.g. ST101 joins entrypoints with the import graph).

    Per file it computes a JSON-able :meth:`file_summary` (cached with the file); then
    :meth:`check_project` sees every summary at once, and may ask the index for the summaries
    of further files it needs (modules an entrypoint imports), which are computed on demand.
    """

    @classmethod
    def quick_summary(cls, source: bytes, ctx: FileContext) -> Any | None:
        """A summary computed without a LibCST visit, when the text proves that one would add
        nothing (used for files the project pass follows on demand); ``None`` to visit."""
        return None

    @classmethod
    def check_project(cls, index: Any) -> Iterable[Finding]:
        raise NotImplementedError


class TextRule(Rule):
    """A rule over a non-Python file (YAML, ``.env``, Dockerfile ...), matched by file name.

    ``FILE_PATTERNS`` are globs (see :mod:`somatrace.checks.lint.globs`) on the path relative to the
    config root; discovery includes every file that matches one of them.
    """

    FILE_PATTERNS: ClassVar[tuple[str, ...]] = ()

    def check_text(self, text: str, ctx: FileContext) -> Iterable[Finding]:
        raise NotImplementedError
