"""How the project join's questions are shared out over the cores.

The join asks each deferred finding's question against the whole project, fetching the modules a
round of questions lacks, until every question is answered. Run as one sequence it held one core
while the other idled: on llm-stack 2.7 s, of which ST203's receiver questions 1.5 s, ST101's
entrypoint questions 1.1 s (its reference pass over every file included) and ST301's span
questions 0.7 s. A rule's questions share its memos (ST101's one reference pass for every
helper name) and mostly the modules they fetch, and another rule's hardly do, so a lane is a set
of whole rules: each lane runs in a forked process on a copy of the project model, fetching what
it lacks itself, and the findings are the union of the lanes'.

The answers are the ones the single sequence gives: a question's answer depends on the project's
files, not on which questions were asked before it (the model remembers nothing derived from a
module it lacked, and loads no callers on demand), and each lane asks its questions in the
sequence's order. ``tests/lint/test_join_lanes.py`` holds a run in lanes to the same findings as
a run in one sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

# Below this many questions a fork costs more than the second core saves (a pre-commit run on
# a few staged files asks a handful).
LANE_THRESHOLD = 100


def share_out(codes: Sequence[str], lanes: int) -> list[list[int]]:
    """The question numbers (indexes into ``codes``, each question's rule code) in at most
    ``lanes`` groups of whole rules, each in ascending order. Rules go biggest first to the
    lane with the fewest questions so far (ties: the rule code, then the lower lane), so the
    split is the same on every run."""
    by_rule: dict[str, list[int]] = {}
    for number, code in enumerate(codes):
        by_rule.setdefault(code, []).append(number)
    groups: list[list[int]] = [[] for _ in range(max(1, min(lanes, len(by_rule))))]
    for code in sorted(by_rule, key=lambda c: (-len(by_rule[c]), c)):
        lightest = min(range(len(groups)), key=lambda k: (len(groups[k]), k))
        groups[lightest].extend(by_rule[code])
    return [sorted(group) for group in groups if group]
