"""Run a command and write its peak RSS (and that of every process it waited for) to a file.

    python scripts/peak_rss.py OUT_FILE -- COMMAND [ARGS...]

Exit status, stdin, stdout and stderr are the command's. OUT_FILE gets one JSON object:
``{"peak_rss_kb": ..., "user_s": ..., "system_s": ...}`` from ``os.wait4``, and ``wall_s``
from the fork to the end of the wait (without this launcher's own start-up).

Why a launcher: on Linux a child's ``ru_maxrss`` starts from the high-water mark of the memory
it was forked from (``fork`` copies the parent's address space and its high-water mark, which
``exec`` keeps in the child's maximum). A 600 MB pytest or benchmark process therefore reports
every child it starts as using at least 600 MB. This small process forks the command from its
own few megabytes, so what ``wait4`` reports is the command's own peak.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    out_file, command = argv[0], argv[2:]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the command, forked from this small process
        try:
            os.execvp(command[0], command)
        except OSError as error:
            print(f"peak_rss: cannot run {command[0]}: {error}", file=sys.stderr)
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    with open(out_file, "w", encoding="utf-8") as out:
        json.dump(
            {
                "peak_rss_kb": usage.ru_maxrss,
                "user_s": usage.ru_utime,
                "system_s": usage.ru_stime,
                "wall_s": wall,
            },
            out,
        )
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # killed by a signal: die of the same one, so the caller sees what happened
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
