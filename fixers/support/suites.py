"""Turning a one-line suite (``if x: a(); b()``) into an indented block with a new statement."""

from __future__ import annotations

import libcst as cst


def _line(statements: list[cst.BaseSmallStatement]) -> cst.SimpleStatementLine:
    last = statements[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
    return cst.SimpleStatementLine(body=[*statements[:-1], last])


def explode_suite(
    suite: cst.SimpleStatementSuite, index: int, new: cst.CSTNode
) -> cst.IndentedBlock:
    """``suite`` as an indented block in which ``new`` comes right before its ``index``-th small
    statement; the statements before and after keep their order (and ``;`` within a line)."""
    statements = list(suite.body)
    lines: list[cst.BaseStatement] = []
    if statements[:index]:
        lines.append(_line(statements[:index]))
    if isinstance(new, cst.SimpleStatementLine):
        lines.append(new)
    else:
        assert isinstance(new, cst.BaseSmallStatement)
        lines.append(_line([new]))
    lines.append(_line(statements[index:]))
    return cst.IndentedBlock(body=lines, header=suite.trailing_whitespace)
