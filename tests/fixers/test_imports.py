"""Imports added by fixes: once, merged, in the right place, never after their use."""

from __future__ import annotations

import libcst as cst
import pytest

from somatrace.fixers.support.base import ImportSpec
from somatrace.fixers.support.imports import add_imports, name_conflict, remove_unused
from tests.fixers.support import dedent

INIT = ImportSpec("somatrace.tracing", "init_tracing")
TAGS = ImportSpec("somatrace.tags", "span_tags")

PAIRS = [
    pytest.param(
        '''
        """Doc."""
        from __future__ import annotations

        x = 1
        ''',
        '''
        """Doc."""
        from __future__ import annotations

        from somatrace.tracing import init_tracing

        x = 1
        ''',
        id="after-docstring-and-future",
    ),
    pytest.param(
        """
        # header comment
        x = 1
        """,
        """
        # header comment
        from somatrace.tracing import init_tracing
        x = 1
        """,
        id="module-without-imports",
    ),
    pytest.param(
        """
        import os
        import sys

        import httpx
        from traceloop.sdk import Traceloop

        from .local import thing
        x = 1
        """,
        """
        import os
        import sys

        import httpx
        from somatrace.tracing import init_tracing
        from traceloop.sdk import Traceloop

        from .local import thing
        x = 1
        """,
        id="sorted-third-party-position",
    ),
    pytest.param(
        """
        import zlib
        from zzz import a
        from aaa import b
        x = 1
        import late
        """,
        """
        import zlib
        from zzz import a
        from aaa import b
        from somatrace.tracing import init_tracing
        x = 1
        import late
        """,
        id="unsorted-goes-after-the-leading-block-never-after-code",
    ),
    pytest.param(
        """
        from somatrace.tracing import (
            current_settings,
            shutdown_tracing
        )
        """,
        """
        from somatrace.tracing import (
            current_settings,
            init_tracing,
            shutdown_tracing
        )
        """,
        id="merged-parenthesised-without-trailing-comma",
    ),
    pytest.param(
        """
        from somatrace.tracing import zeta, alpha
        """,
        """
        from somatrace.tracing import zeta, alpha, init_tracing
        """,
        id="merged-unsorted-list-appends",
    ),
    pytest.param(
        """
        from somatrace.tracing import (
            zeta,
        )
        """,
        """
        from somatrace.tracing import (
            init_tracing,
            zeta,
        )
        """,
        id="merged-sorted-before-first",
    ),
    pytest.param(
        """
        from somatrace.tracing import init_tracing
        """,
        """
        from somatrace.tracing import init_tracing
        """,
        id="already-imported-not-again",
    ),
]


@pytest.mark.parametrize(("before", "after"), PAIRS)
def test_add_imports(before: str, after: str) -> None:
    module = cst.parse_module(dedent(before))
    result = add_imports(module, [INIT, INIT])
    assert result.code == dedent(after)


def test_two_specs_from_two_modules() -> None:
    module = cst.parse_module("from somatrace.tags import bind\n\nx = 1\n")
    result = add_imports(module, [TAGS, INIT, TAGS])
    assert result.code == (
        "from somatrace.tags import bind, span_tags\n"
        "from somatrace.tracing import init_tracing\n\nx = 1\n"
    )


def test_name_conflicts_are_detected() -> None:
    assert name_conflict(cst.parse_module("def init_tracing():\n    pass\n"), INIT)
    assert name_conflict(cst.parse_module("from app.obs import init_tracing\n"), INIT)
    assert name_conflict(cst.parse_module("init_tracing = None\n"), INIT)
    assert (
        name_conflict(cst.parse_module("from somatrace.tracing import init_tracing\n"), INIT)
        is None
    )
    assert name_conflict(cst.parse_module("def f():\n    init_tracing = 1\n"), INIT) is None


def test_unused_import_removed_used_one_kept() -> None:
    unused = cst.parse_module("from traceloop.sdk import Traceloop\nx = 1\n")
    used = cst.parse_module(
        "from traceloop.sdk import Traceloop\nTraceloop.set_association_properties({})\n"
    )
    drop = [("traceloop.sdk", "Traceloop", None)]
    assert remove_unused(unused, drop).code == "x = 1\n"
    assert remove_unused(used, drop).code == used.code
