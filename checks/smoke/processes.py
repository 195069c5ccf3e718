"""Child processes of a smoke run: started in their own session, always stopped.

Every process the runner starts goes through :class:`ChildProcess` and is registered in a
:class:`ProcessRegistry`; :meth:`ProcessRegistry.stop_all` ends them (SIGTERM to the whole
process group, then SIGKILL) with SIGINT/SIGTERM blocked, so a second Ctrl-C cannot cut the
clean-up short. :func:`interrupts_as_keyboard_interrupt` turns SIGTERM (what CI runners send
on cancel, after SIGINT) into ``KeyboardInterrupt`` so the same ``finally`` blocks run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType

STOP_GRACE_SECONDS = 5.0
_BLOCKED = {signal.SIGINT, signal.SIGTERM}


class ChildProcess:
    """A subprocess in its own session (its own process group), with output in files."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        stdout_path: Path,
        stderr_path: Path,
    ) -> None:
        self.command = list(command)
        self.stdout_path = stdout_path
        self.stderr_path = stderr_path
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            self.popen = subprocess.Popen(
                self.command,
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                # Ctrl-C in a terminal goes to the foreground group only: the runner, which
                # then stops this process itself (and everything it started).
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the process group, wait ``grace`` seconds, then SIGKILL it; reap.

        A process that already exited (and was reaped) is left alone: its group id may
        belong to someone else by now.
        """
        if self.popen.poll() is not None:
            return
        self._signal_group(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
        # Whatever the leader did, nothing of its group may outlive the run.
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)

    def stderr_tail(self, lines: int = 20) -> str:
        return _tail(self.stderr_path, lines)

    def stdout_tail(self, lines: int = 20) -> str:
        return _tail(self.stdout_path, lines)


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no output captured)"
    tail = text.strip().splitlines()[-lines:]
    return "\n".join(tail) if tail else "(no output)"


class ProcessRegistry:
    """Everything a run started, stopped in reverse order by :meth:`stop_all`."""

    def __init__(self) -> None:
        self._stoppers: list[tuple[str, object]] = []
        self._lock = threading.Lock()

    def add(self, name: str, stoppable: object) -> None:
        """Register anything with a ``stop()`` method."""
        with self._lock:
            self._stoppers.append((name, stoppable))

    def stop_all(self) -> list[str]:
        """Stop everything; returns the errors met (stopping never raises)."""
        errors: list[str] = []
        with blocked_interrupts():
            while True:
                with self._lock:
                    if not self._stoppers:
                        break
                    name, stoppable = self._stoppers.pop()
                try:
                    stoppable.stop()  # type: ignore[attr-defined]
                except Exception as error:  # keep stopping the others
                    errors.append(f"could not stop {name}: {error}")
        return errors


@contextlib.contextmanager
def blocked_interrupts() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (delivered after the block) in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def interrupts_as_keyboard_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises ``KeyboardInterrupt`` like SIGINT does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupt(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous_term = signal.signal(signal.SIGTERM, raise_interrupt)
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int in (signal.SIG_IGN, None):
        # A parent that started us with SIGINT ignored still gets the clean-up on Ctrl-C.
        signal.signal(signal.SIGINT, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        if previous_int in (signal.SIG_IGN, None):
            signal.signal(signal.SIGINT, previous_int or signal.SIG_DFL)
