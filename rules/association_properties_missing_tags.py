"""ST302 association-properties-missing-tags."""

from __future__ import annotations

from typing import Any, ClassVar

from somatrace.checks.analysis.tags import (
    TagProof,
    association_call_proof,
    bind_call_proof,
    complete,
    tag_flow,
)
from somatrace.checks.lint.codes import ASSOCIATION_PROPERTIES_MISSING_TAGS
from somatrace.checks.lint.module import Module
from somatrace.checks.lint.rule import (
    Expect,
    FileContext,
    FixAvailability,
    Invalid,
    PythonRule,
    Valid,
)


class AssociationPropertiesMissingTags(PythonRule):
    """Tags are bound without every required key.

    ## What it does
    Reports a call of `Traceloop.set_association_properties(...)` (or traceloop's module-level
    `set_association_properties`) whose mapping, and a call of `somatrace.tags.bind(...)`
    (context manager or decorator) whose keyword arguments, lack one of the `required-tags`
    (default `tenant_id`, `workflow_name`, `agent_id`). The message names the missing keys.

    Keys are read from a dict display or `dict(...)` call, keyword arguments, `**{...}`
    spreads of literal dicts and module-level constants of the same file
    (`TENANT = "tenant_id"`). A `**span_tags()` spread supplies every required tag; a
    keyword set to `None` (`bind(tenant_id=None)`) binds nothing. A `bind` nested in another
    in the same function (an outer `with bind(...)`, other items of the same `with`, or
    other `@bind(...)` decorators on the same function) adds to it, so it only has to
    complete what the outer ones bind. `set_association_properties` replaces the bound tags
    (traceloop and somatrace share one context value), so its mapping must hold them all.
    When part of the mapping cannot be read — a variable passed instead of a dict, a
    `**spread` of unknown content — the call is **not** reported: the missing key may well
    be in there, and this rule reports only what it can prove. Keys whose value is defined
    elsewhere (`{Keys.TENANT: ...}`) are one key each: the call is reported only when there
    are fewer of them than missing tags (then a tag is missing for certain).
    (ST301 still reports a span whose tags such a binding cannot prove.)

    ## Why is this bad?
    The bound keys become span attributes of every span started under the binding
    (`traceloop.association.properties.<key>`, and `langfuse.trace.metadata.<key>` through the
    somatrace span processor). Langfuse filters and segments traces, costs and evaluations by
    them: a binding without `tenant_id` makes a tenant's traffic and spend invisible in its
    views, and one without `agent_id` hides which agent made the calls.

    ## Example
    ```python
    from somatrace.tags import bind
    from traceloop.sdk import Traceloop

    Traceloop.set_association_properties({"tenant_id": tenant, "workflow_name": "rag"})

    with bind(tenant_id=tenant):
        answer(question)
    ```

    ## Use instead
    ```python
    from somatrace.tags import bind
    from traceloop.sdk import Traceloop

    Traceloop.set_association_properties(
        {"tenant_id": tenant, "workflow_name": "rag", "agent_id": "retriever"}
    )

    with bind(tenant_id=tenant, workflow_name="rag", agent_id="retriever"):
        answer(question)
    ```

    ## Fix safety
    No fix: only the author knows the values of the missing tags.
    """

    CODE = ASSOCIATION_PROPERTIES_MISSING_TAGS
    NAME = "association-properties-missing-tags"
    TRIGGERS = (b"set_association_properties", b"bind")
    FIX = FixAvailability.NONE

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        # `bind` is a common word (sockets, SQLAlchemy): somatrace's is imported by that name,
        # or relatively from inside the somatrace package itself.
        if b"set_association_properties" in source:
            return True
        if b"bind" not in source:
            return False
        return b"somatrace" in source or (ctx.module_name or "").startswith("somatrace.")

    def check(self, module: Module) -> None:
        required = tuple(self.ctx.config.required_tags)
        flow = tag_flow(module)
        calls = [(call, scope, True) for call, scope in flow.binds]
        calls += [(call, scope, False) for call, scope in flow.associations]
        decorated = {id(d) for fn, _ in module.functions for d in fn.decorator_list}
        for fn, scope in module.functions:
            outer = scope.parent or module.scope
            for decorator in fn.decorator_list:
                if id(decorator) in flow.decorator_binds:
                    calls.append((decorator, outer, True))
        calls.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
        for call, scope, is_bind in calls:
            if is_bind:
                own = bind_call_proof(module, call, scope)
                if id(call) in flow.decorator_binds:
                    # Decorators stacked on one function all wrap its body.
                    context = flow.decorator_binds[id(call)]
                elif id(call) in decorated:
                    continue
                else:
                    context = flow.before.get(id(call), TagProof())
                    context = context | flow.bind_siblings.get(id(call), TagProof())
                proof = complete(own | context, required)
            else:
                proof = complete(association_call_proof(module, call, scope), required)
            missing = proof.missing(required)
            if not missing or proof.may_supply(missing):
                continue
            what = "`bind(...)`" if is_bind else "`set_association_properties(...)`"
            data: dict[str, Any] = {
                "missing": missing,
                "call": "bind" if is_bind else "association",
            }
            self.report(
                call,
                f"{what} lacks required tag{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}{proof.unknown_keys_note()}; spans under it cannot be "
                f"filtered or costed by {'them' if len(missing) > 1 else 'it'} in Langfuse",
                data=data,
            )

    VALID: ClassVar[list[Valid]] = [
        Valid(
            """
from somatrace.tags import bind
from traceloop.sdk import Traceloop

def handle(tenant, question):
    Traceloop.set_association_properties(
        {"tenant_id": tenant, "workflow_name": "rag", "agent_id": "retriever", "extra": 1}
    )
    with bind(tenant_id=tenant, workflow_name="rag", agent_id="retriever"):
        return question

@bind(tenant_id="acme", workflow_name="nightly", agent_id="eval")
def nightly():
    return None
""",
            why="every required key is bound",
        ),
        Valid(
            """
from somatrace.tags import bind, span_tags
from traceloop.sdk import Traceloop

TENANT = "tenant_id"

def handle(tenant, extra, properties):
    Traceloop.set_association_properties({**span_tags(), "step": "retrieve"})
    Traceloop.set_association_properties({TENANT: tenant, **extra})
    Traceloop.set_association_properties(properties)
    Traceloop.set_association_properties({key: 1 for key in extra})
    with bind(**extra):
        pass
    with bind(tenant_id=tenant, **extra):
        pass
""",
            why="spread of span_tags() proves all; unknown spreads or variables cannot prove "
            "absence, so they are not reported",
        ),
        Valid(
            """
from traceloop.sdk import Traceloop

from app.keys import Keys

Traceloop.set_association_properties({Keys.TENANT: 1, Keys.WORKFLOW: 2, Keys.AGENT: 3})
""",
            why="three keys defined elsewhere may be the three tags",
        ),
        Valid(
            """
import socket

def bind(**tags):
    return tags

server = socket.socket()
server.bind(("127.0.0.1", 0))
bind(tenant_id="acme")

class Traceloop:
    @staticmethod
    def set_association_properties(properties):
        return properties

Traceloop.set_association_properties({"tenant_id": "acme"})
""",
            why="a project's own bind / Traceloop and socket.bind are not the tag API",
        ),
        Valid(
            '''
"""Call bind(tenant_id=...) with every tag."""
EXAMPLE = "Traceloop.set_association_properties({'tenant_id': 't'})"
# with bind(tenant_id="acme"):
''',
            why="strings, docstrings and comments are not calls",
        ),
        Valid(
            """
from somatrace import tags

with tags.bind(tenant_id="acme"):
    pass
""",
            config={"required-tags": ["tenant_id"]},
            why="only the configured required tags are asked for",
        ),
        Valid(
            """
from somatrace.tags import bind

def handle(tenant):
    with bind(tenant_id=tenant, workflow_name="rag", agent_id="a"):
        with bind(agent_id="reranker"):
            pass
    with bind(tenant_id=tenant, workflow_name="rag"), bind(agent_id="answerer"):
        pass

@bind(tenant_id="acme", workflow_name="nightly", agent_id="eval")
def nightly():
    with bind(agent_id="judge"):
        pass

@bind(tenant_id="acme")
@bind(workflow_name="nightly", agent_id="eval")
def stacked():
    return None
""",
            why="a bind nested in complete ones only adds; stacked @bind decorators add up",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            """
from traceloop.sdk import Traceloop

def handle(tenant):
    Traceloop.set_association_properties({"tenant_id": tenant, "workflow_name": "rag"})
""",
            line=4,
            col=5,
            message="lacks required tag agent_id;",
        ),
        Invalid(
            """
from traceloop.sdk import Traceloop as TL

TENANT = "tenant_id"
PROPERTIES = {TENANT: "acme"}

TL.set_association_properties(PROPERTIES)
""",
            line=6,
            message="lacks required tags workflow_name, agent_id;",
            why="the mapping and its key come through module constants",
            col=1,
        ),
        Invalid(
            """
from traceloop.sdk import Traceloop

from app.keys import Keys

Traceloop.set_association_properties({Keys.TENANT: "acme", "agent_id": "a"})
""",
            line=5,
            message="lacks required tags tenant_id, workflow_name (keys defined elsewhere, "
            "`Keys.TENANT`, can supply at most 1);",
            why="one key defined elsewhere cannot be two missing tags",
            col=1,
        ),
        Invalid(
            """
from traceloop.sdk.tracing.tracing import set_association_properties

set_association_properties(dict(tenant_id="acme", agent_id="a"))
""",
            line=3,
            message="workflow_name",
            col=1,
        ),
        Invalid(
            """
from somatrace.tags import bind

async def handle(tenant):
    async with bind(tenant_id=tenant, **{"workflow_name": "rag"}):
        return tenant
""",
            line=4,
            col=16,
            message="`bind(...)` lacks required tag agent_id",
        ),
        Invalid(
            """
import somatrace.tags as t

@t.bind(workflow_name="nightly", agent_id="eval")
def nightly():
    return None
""",
            line=3,
            col=2,
            message="tenant_id",
        ),
        Invalid(
            """
from somatrace.tags import bind

def handle(tenant):
    with bind(tenant_id=None, workflow_name="rag", agent_id="a"):
        def later():
            with bind(agent_id="b"):
                pass
        return later
""",
            count=2,
            line=4,
            col=10,
            message="lacks required tag tenant_id;",
            why="None binds nothing; a bind around a nested function's definition is no outer "
            "bind for the binds inside it",
            expect=(
                Expect(4, 10, "`bind(...)` lacks required tag tenant_id"),
                Expect(6, 18, "`bind(...)` lacks required tags tenant_id, workflow_name"),
            ),
        ),
        Invalid(
            """
from somatrace.tags import bind

with bind(tenant_id="acme", workflow_name="w", agent_id="a"):
    pass
""",
            config={"required-tags": ["tenant_id", "region"]},
            line=3,
            message="lacks required tag region;",
            col=6,
        ),
    ]
