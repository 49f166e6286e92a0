"""Work done in a forked process beside the caller's own, for the end of a sync: the master
workbook is written while the history is saved (two cores, two jobs, and neither holds the
other's GIL). The child inherits the data by fork, so nothing large is copied or pickled; only
the (small) result or the error comes back through a pipe.

Where fork is unavailable (Windows, macOS' default), or the child cannot start, the work is
done at once in this process: the same result, one after the other.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class WorkerLost(RuntimeError):
    """The forked process ended without an answer (killed, or out of memory)."""


class Beside(Generic[T]):
    """`work()` started now; `result()` waits for it and returns it, or raises its error."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._done: tuple[str, Any] | None = None
        self._proc: Any = None
        if not _can_fork():
            self._done = _outcome(work)
            return
        ctx = multiprocessing.get_context("fork")
        self._reader, writer = ctx.Pipe(duplex=False)
        # not a daemon: a daemon may not start processes of its own (the lists beside)
        self._proc = ctx.Process(target=_child, args=(work, writer))
        try:
            self._proc.start()
        except OSError:  # no process to be had: do it here
            self._proc = None
            self._done = _outcome(work)
        finally:
            writer.close()

    def result(self) -> T:
        kind, value = self._wait()
        if kind == "error":
            raise value
        return value

    def _wait(self) -> tuple[str, Any]:
        if self._done is None:
            try:
                self._done = pickle.loads(self._reader.recv_bytes())
            except (EOFError, OSError):
                self._done = ("error", WorkerLost(
                    f"the background process ended with code {self._proc.exitcode}"))
            finally:
                self._proc.join()
                self._reader.close()
        return self._done


def _can_fork() -> bool:
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _outcome(work: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("ok", work())
    except Exception as exc:  # noqa: BLE001 (given back to the caller as it was raised)
        return ("error", exc)


def _child(work: Callable[[], Any], writer: Any) -> None:
    """Run in the forked process: send the outcome, then leave without the parent's exit
    handlers (they belong to the parent: its database connection, its lock file)."""
    outcome = _outcome(work)
    try:
        payload = pickle.dumps(outcome)
        pickle.loads(payload)  # an exception class may not rebuild from its arguments
    except Exception:  # noqa: BLE001 (then its text, as an error that travels)
        payload = pickle.dumps(("error", RuntimeError(
            f"{type(outcome[1]).__name__}: {outcome[1]}")))
    try:
        writer.send_bytes(payload)
    finally:
        writer.close()
        os._exit(0)
