"""The shape of a fixer, and the plan it hands back.

A fixer never rewrites a tree itself. For each finding of its rule it looks at the *original*
tree (with positions and parents resolved once per file) and returns a :class:`Plan`: which
original nodes to replace (by a function of the already-updated node), which statements to
insert before which original statements, and which imports the new code needs. The runner
(:mod:`somatrace.fixers.support.transform`) merges every plan of a file into **one** transform,
then adds the imports once (:mod:`somatrace.fixers.support.imports`). This is what makes fixes
converge: no fix is applied to the output of another fix's pass, and no import is added by two
fixes.

A fixer that cannot fix a finding returns :class:`NoFix` with the reason, which
``somatrace fix`` prints next to the finding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import libcst as cst
from libcst.metadata import CodeRange, ParentNodeProvider, PositionProvider

from somatrace.checks.lint.config import Config
from somatrace.checks.lint.findings import Finding, Fix
from somatrace.checks.lint.rule import Rule

Replacement = Callable[[cst.CSTNode], cst.CSTNode]


@dataclass(frozen=True, slots=True)
class ImportSpec:
    """``from module import name`` (``name=None``: ``import module``)."""

    module: str
    name: str | None = None


@dataclass
class Plan:
    """What one finding's fix does to its file."""

    description: str
    safe: bool = True
    replacements: list[tuple[cst.CSTNode, Replacement]] = field(default_factory=list)
    # original statement -> statements to put right before it (same block, same indentation)
    insert_before: list[tuple[cst.CSTNode, list[cst.CSTNode]]] = field(default_factory=list)
    insert_after: list[tuple[cst.CSTNode, list[cst.CSTNode]]] = field(default_factory=list)
    imports: list[ImportSpec] = field(default_factory=list)
    # imports the fix may leave unused: removed only when nothing references them any more
    drop_if_unused: list[tuple[str, str | None, str | None]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class NoFix:
    """The finding has no automatic fix; ``reason`` says why, in words for the user.

    ``resolved``: no fix of its own is needed because another fix of the same run removes the
    cause (e.g. ST101 when ST102 turns ``Traceloop.init`` into ``init_tracing``).
    """

    reason: str
    resolved: bool = False


@dataclass
class FileFacts:
    """What a fixer may know about the file it fixes (resolved once per file)."""

    path: Path  # absolute
    relpath: str  # relative to the config root
    config: Config
    module: cst.Module
    positions: dict[cst.CSTNode, CodeRange]
    parents: dict[cst.CSTNode, cst.CSTNode]
    service_name: Callable[[], ServiceName]
    findings: list[Finding] = field(default_factory=list)  # every finding being fixed here
    _by_range: dict[tuple[int, int, int, int], list[cst.CSTNode]] | None = None
    _quote: str | None = None

    def nodes_at(self, finding: Finding) -> list[cst.CSTNode]:
        """Nodes whose source range is exactly the finding's, outermost first."""
        if self._by_range is None:
            self._by_range = {}
            for node, rng in self.positions.items():
                key = (rng.start.line, rng.start.column, rng.end.line, rng.end.column)
                self._by_range.setdefault(key, []).append(node)
        wanted = (finding.line, finding.col - 1, finding.end_line, (finding.end_col or 1) - 1)
        return list(self._by_range.get(wanted, ()))

    def node_at(self, finding: Finding, kind: type[cst.CSTNode]) -> cst.CSTNode | None:
        for node in self.nodes_at(finding):
            if isinstance(node, kind):
                return node
        return None

    def ancestors(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        out = []
        current = self.parents.get(node)
        while current is not None:
            out.append(current)
            current = self.parents.get(current)
        return out

    def enclosing_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The statement holding ``node`` that sits directly in a block: a statement of a
        module or an indented block, or a small statement of a one-line suite."""
        current: cst.CSTNode | None = node
        while current is not None:
            parent = self.parents.get(current)
            if isinstance(parent, cst.Module | cst.IndentedBlock) and isinstance(
                current, cst.BaseStatement
            ):
                return current
            if isinstance(parent, cst.SimpleStatementSuite) and isinstance(
                current, cst.BaseSmallStatement
            ):
                return current
            current = parent
        return None

    def line_of(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    def quote(self) -> str:
        """The file's own quote character for new single-line strings (``"`` on a tie)."""
        if self._quote is not None:
            return self._quote
        counts = {'"': 0, "'": 0}
        for node in self.positions:
            if isinstance(node, cst.SimpleString):
                quote = node.quote
                if len(quote) == 1:
                    counts[quote] += 1
        self._quote = "'" if counts["'"] > counts['"'] else '"'
        return self._quote


@dataclass(frozen=True, slots=True)
class ServiceName:
    name: str
    source: str  # "config", "path", "pyproject", "folder"

    @property
    def certain(self) -> bool:
        """A name the user wrote down somewhere (config, layout, project metadata)."""
        return self.source != "folder"


class FixerBase:
    """One fixer per fixable rule; ``RULE`` is the rule class it fixes. A rule on Python code
    has a :class:`Fixer` (a LibCST codemod), a rule on text files a :class:`TextFixer`."""

    RULE: ClassVar[type[Rule]]

    # Documented per fixer: when are its fixes safe, when do they need --unsafe-fixes?
    SAFETY: ClassVar[str] = ""

    @classmethod
    def code(cls) -> str:
        return cls.RULE.CODE

    def config_problem(self, config: Config, project_root: Path) -> str | None:
        """Why this fixer must not run under ``config`` at all (a setting it would write into
        code is unsafe); ``somatrace fix`` turns it into a config error before writing."""
        return None


class Fixer(FixerBase):
    """The fixer of a rule on Python code: a plan against the parsed file (see the module doc)."""

    def plan(self, finding: Finding, facts: FileFacts) -> Plan | NoFix:
        raise NotImplementedError


class TextFixer(FixerBase):
    """The fixer of a rule on text files (``.env``, YAML, Dockerfile): it turns one finding,
    from the data its rule recorded, into exact text edits. No parse tree is involved, so
    ``check --output-format json/sarif`` can attach these edits to every finding cheaply.

    ``fix_text`` must verify that the text still holds what the rule saw (the file may have
    changed since it was checked) and return :class:`NoFix` otherwise."""

    def fix_text(self, finding: Finding, text: str) -> Fix | NoFix:
        raise NotImplementedError


AnyFixer = FixerBase


def string_literal(value: str, quote: str = '"') -> str:
    """``value`` as a one-line Python string literal in ``quote``: backslashes, the quote and
    every non-printable character escaped, so no value (a service name from config) can end
    the string or the line."""
    out = []
    for char in value:
        if char == "\\" or char == quote:
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(repr(char)[1:-1] if char not in "'\"" else char)
    return f"{quote}{''.join(out)}{quote}"


def parsing_config(module: cst.Module) -> cst.PartialParserConfig:
    """The config to parse new code for ``module`` with (its newline and indentation)."""
    try:
        return module.config_for_parsing
    except ValueError:
        # LibCST infers the indent from the file's first indented line, form feeds included
        # (`"\t \x0c "`), and then refuses that indent in a parser config: the newline only.
        return cst.PartialParserConfig(default_newline=module.default_newline)


def statement_like(template: cst.CSTNode, code: str, module: cst.Module) -> cst.CSTNode:
    """``code`` (one simple statement) as a node that can sit where ``template`` sits: a full
    statement line in a block, or a bare small statement in a one-line suite."""
    line = cst.parse_statement(code, config=parsing_config(module))
    assert isinstance(line, cst.SimpleStatementLine)
    if isinstance(template, cst.BaseSmallStatement):
        return line.body[0]
    return line


def resolve_metadata(module: cst.Module) -> tuple[cst.Module, dict, dict]:
    """Positions and parents of every node of ``module``, computed once, in one traversal."""
    wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)
    resolved = wrapper.resolve_many([PositionProvider, ParentNodeProvider])
    return wrapper.module, dict(resolved[PositionProvider]), dict(resolved[ParentNodeProvider])


def ranges_overlap(a: CodeRange, b: CodeRange) -> bool:
    start_a, end_a = (a.start.line, a.start.column), (a.end.line, a.end.column)
    start_b, end_b = (b.start.line, b.start.column), (b.end.line, b.end.column)
    return start_a < end_b and start_b < end_a


def first_of(items: Sequence[cst.CSTNode], kind: type[cst.CSTNode]) -> cst.CSTNode | None:
    return next((item for item in items if isinstance(item, kind)), None)
