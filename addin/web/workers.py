"""The check workers: a few processes that read and check books for the server.

A check is Python work: in threads of the server's one process, fifty curators at the
deadline would share one interpreter lock, so a 2-core server checked on one core while the
pages and /health waited for the lock too. The workers (as many as cores by default,
`serve --check-workers`) take the books in turn; a request waits for its answer holding no lock.

Workers are forked from a fork server that has imported the engine already (a new worker is
ready at once, and forking never happens from the server's own threads). A worker that dies
(killed, out of memory) takes the pool with it: the pool is made anew and the work is tried
once more. A worker whose server is gone (`kill -9`) ends itself, and the fork server
with it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import select
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from addin.web.config import LOG_FORMAT
from addin.web.processes import process_alive

T = TypeVar("T")
log = logging.getLogger("nastavnik.web")

#: Modules the fork server imports once, so that no worker pays for them.
PRELOAD = ["addin.web.checking", "addin.model", "addin.validate", "addin.indicators",
           "addin.plan.pairs", "addin.plan.calendar", "addin.plan.gaps",
           "workbook_templates.build", "workbook_templates.demo"]
#: A worker is replaced after this many books (memory a hostile file left behind is freed).
TASKS_PER_WORKER = 200


class WorkerLost(RuntimeError):
    """The worker died twice on this work (the pool has been made anew)."""


def pool_size(configured: int = 0) -> int:
    """`configured` workers, or one per core when 0."""
    return configured if configured > 0 else max(1, os.cpu_count() or 1)


class CheckWorkers:
    """A lazily started process pool for the check's work."""

    def __init__(self, size: int = 0) -> None:
        self.size = pool_size(size)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self, warm_up: Callable[..., object], *args: Any) -> None:
        """Start every worker now (the server's start-up), each with `warm_up(*args)` as its
        first work, so the first books do not wait: the pool starts a worker for each piece
        of work that finds none idle."""
        pool = self._get()
        for _ in range(self.size):
            pool.submit(warm_up, *args)

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker (a module-level function, picklable arguments); its
        exceptions are raised here. WorkerLost when the worker died twice."""
        for attempt in (1, 2):
            pool = self._get()
            try:
                return pool.submit(fn, *args).result()
            except BrokenProcessPool:
                log.error("check worker lost (attempt %d): the pool is made anew", attempt)
                self._drop(pool)
        raise WorkerLost()

    def close(self) -> None:
        """End the workers (the server's shutdown)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.size, mp_context=_context(),
                    initializer=_start_worker,
                    initargs=(os.getpid(), logging.getLogger().level),
                    max_tasks_per_child=TASKS_PER_WORKER)
            return self._pool

    def _drop(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)


def _context() -> multiprocessing.context.BaseContext:
    """The fork server with the engine preloaded where there is one (Linux, macOS)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_main_file() + PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def _main_file() -> list[str]:
    """["__main__"] when the server's main module is a file (`nastavnik serve`'s script): a
    worker runs that file again as it starts unless the fork server has run it once before."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return ["__main__"] if path and os.path.isfile(path) else []


def _start_worker(server: int, level: int) -> None:
    """A worker's start: log as the server does (the same lines in the same place), and end
    when the server is gone."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    _end_with(server)


def _end_with(server: int) -> None:
    """End this worker when the server is gone. A worker's parent is the fork server,
    which ends only once every worker has (each holds its lifeline), so the worker watches
    the server itself: through a pidfd on Linux (a thread blocked without a timeout, so no
    clock is involved, which libfaketime fakes), elsewhere by looking once a second."""
    def watch() -> None:
        try:
            fd = os.pidfd_open(server)
        except (AttributeError, OSError):  # not Linux 5.3+: poll
            while process_alive(server):
                threading.Event().wait(1.0)
        else:
            select.select([fd], [], [])  # readable once the server has ended
        os._exit(0)

    if not process_alive(server):
        os._exit(0)
    threading.Thread(target=watch, name="server-watch", daemon=True).start()

