"""One lock per collection folder, shared between processes (``flock`` on a lock file).

Steps that change the folder and its journal together take it *shared*: a submission (the
file, the archive copy, the line of submissions.jsonl and the journal's event) and a run of
«Собрать свод» (the master, the history and the job's verdicts). They do not wait for each
other. `nastavnik backup` and `nastavnik purge` take it *exclusive*, so they see the folder
between steps, never in the middle of one, while the server keeps running.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".nastavnik.lock"


class FolderBusy(Exception):
    """The folder stayed locked for longer than the caller wanted to wait."""


@contextmanager
def folder_lock(collect_dir: Path, *, shared: bool, wait: float | None = None) -> Iterator[None]:
    """Hold the folder's lock (shared or exclusive) for the block.

    `wait`: seconds to try before FolderBusy (None: wait as long as it takes). The lock is the
    kernel's: a process killed with -9 releases it with its file descriptors.
    """
    path = Path(collect_dir) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    except PermissionError:  # a reader of the folder (a backup in the group): flock needs no write
        fd = os.open(path, os.O_RDONLY)
    try:
        kind = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        if wait is None:
            fcntl.flock(fd, kind)
        else:
            _try_lock(fd, kind, wait)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _try_lock(fd: int, kind: int, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise FolderBusy from None
            time.sleep(0.05)
