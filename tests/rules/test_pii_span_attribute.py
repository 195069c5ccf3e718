"""ST203 beyond its samples: keys handed to a project helper that sets them on a span, across
modules, and the screen that decides which callers are parsed for it."""

from __future__ import annotations

from pathlib import Path

from somatrace.checks.api import CheckSettings, run_check
from tests.helpers import commit_tree, write_files, write_pyproject

OBS = """
def record(span, key, value):
    span.set_attribute(key, value)


def put(entry, key, value):
    entry.set_attribute(key, value)
"""
LDAP = """
class Entry:
    def set_attribute(self, key, value):
        pass
"""
HANDLERS = """
from opentelemetry import trace

from svc.ldap import Entry
from svc.obs import put, record

tracer = trace.get_tracer(__name__)


def handle(user):
    with tracer.start_as_current_span("handle") as span:
        record(span, "user.email", user.email)
        record(span, "user.id", user.id)
        put(Entry(), "user.password", user.password)
"""
# Formatted as black writes a long call: the span on the line after the parenthesis.
CHAT = """
from svc.obs import record


def reply(messages, span):
    for i, message in enumerate(messages):
        record(
            span, f"gen_ai.prompt.{i}.content", message
        )
"""
# Spans handed over alone, and words of the list in a literal that is no key.
CLOSING = """
from opentelemetry import trace


def close(span, log):
    trace.use_span(span)
    log("the message content was sent")
"""


PROJECT = {
    "svc/__init__.py": "",
    "svc/obs.py": OBS,
    "svc/ldap.py": LDAP,
    "svc/handlers.py": HANDLERS,
}


def _check(root: Path, files: dict[str, str]) -> tuple[list[tuple[str, int, int, str]], int]:
    write_pyproject(root, {"select": ["ST203"]})
    write_files(root, files)
    commit_tree(root)
    result = run_check([root], CheckSettings(use_cache=False))
    found = [(Path(f.path).name, f.line, f.col, f.message) for f in result.findings]
    return found, result.files_parsed


def test_a_key_given_to_a_helper_that_sets_it_on_a_span_is_reported_at_the_caller(
    tmp_path: Path,
) -> None:
    found, _ = _check(tmp_path, {**PROJECT, "svc/chat.py": CHAT})
    assert [(name, line, col) for name, line, col, _ in found] == [
        ("chat.py", 7, 19),
        ("handlers.py", 11, 22),
    ]
    assert "'gen_ai.prompt.{i}.content' names personal or secret data ('content')" in found[0][3]
    assert "'user.email' names personal or secret data ('email')" in found[1][3]
    assert all("`record` sets it on a span" in message for *_, message in found)
    # `user.id` is no personal data; `put` sets the key on an LDAP entry, not on a span.


def test_a_file_that_hands_over_a_span_without_a_key_is_not_parsed(tmp_path: Path) -> None:
    found, parsed = _check(tmp_path, {**PROJECT, "svc/close.py": CLOSING})
    # Only handlers.py passes a span and a key literal to a call; obs.py (the helper) is read
    # by the join for its facts, not parsed for findings of its own.
    assert (parsed, len(found)) == (1, 1)
