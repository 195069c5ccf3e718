"""How the project join's questions are shared out over the cores.

The join asks each deferred finding's question against the whole project, fetching the modules a
round of questions lacks, until every question is answered. Run as one sequence it held one core
while the other idled: on llm-stack 2.7 s, of which ST203's receiver questions 1.5 s, ST101's
entrypoint questions 1.1 s (its reference pass over every file included) and ST301's span
questions 0.7 s. So the questions go out in units of work to one forked process per core, each
working on its own copy of the project model and fetching what it lacks itself; a process takes
the next unit when it is done with one, and keeps what it fetched and derived for the units it
takes later. The findings are the union of the units'.

A unit is a rule's questions about the files of one package (the folder a file's outermost
package is in, and that package's name), since the questions of one package mostly fetch the
same modules and share the model's memos; a rule whose questions share one project-wide pass
(``JOIN_AS_ONE``: ST101's references) is one unit. Whole rules in two lanes left one core idle
for a third of the join on llm-stack: ST203 alone took 0.99 s, ST101 and ST301 together 0.63 s.
The units go out whole rules first (they cannot be split), then the biggest first, so that the
last unit to finish is a small one.

The answers are the ones the single sequence gives: a question's answer depends on the project's
files, not on which questions were asked before it (the model remembers nothing derived from a
module it lacked, and loads no callers on demand), and each unit asks its questions in the
sequence's order. ``tests/lint/test_join_lanes.py`` holds a run in lanes to the same findings as
a run in one sequence.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

# Below this many questions a fork costs more than the second core saves (a pre-commit run on
# a few staged files asks a handful).
LANE_THRESHOLD = 100


def units_of_work(
    codes: Sequence[str], places: Sequence[str], as_one: Collection[str]
) -> list[list[int]]:
    """The question numbers (indexes into ``codes``, each question's rule code; ``places``,
    each question's package) in units, each in ascending order: one per rule of ``as_one``,
    first, then one per (rule, place), biggest first (ties: the rule code, then the place), so
    the order is the same on every run."""
    units: dict[tuple[str, str], list[int]] = {}
    for number, (code, place) in enumerate(zip(codes, places, strict=True)):
        units.setdefault((code, "" if code in as_one else place), []).append(number)
    order = sorted(units, key=lambda k: (k[0] not in as_one, -len(units[k]), k))
    return [units[key] for key in order]
