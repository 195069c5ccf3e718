"""A one-line progress bar on stderr, only where someone watches it (a terminal) and only for
work big enough to be worth watching."""

from __future__ import annotations

import sys
import time
from typing import TextIO

MIN_FILES = 300  # "more than a few hundred files"
WIDTH = 30


class ProgressBar:
    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        filled = int(WIDTH * done / total) if total else WIDTH
        bar = "#" * filled + "-" * (WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total}")
        self.shown = True
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def progress_for(file_count: int, label: str, stream: TextIO | None = None) -> ProgressBar | None:
    target = stream or sys.stderr
    if file_count <= MIN_FILES or not target.isatty():
        return None
    return ProgressBar(label, target)
