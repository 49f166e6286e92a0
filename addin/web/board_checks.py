"""Books the board has not checked yet, checked in the background.

A board of a large municipality meets hundreds of new books at once (2,000 on the first day a
folder is served): checking them inside the request took 5–11 s per view. The board now
answers at once with «ещё не проверена» for those and hands them here; one thread checks
them one by one (the same check as the page's), and the next view shows the results.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger("nastavnik.web")


class BackgroundChecks:
    """A queue of files and the one thread that checks them (`check(path)`)."""

    def __init__(self, check: Callable[[Path], object]) -> None:
        self._check = check
        self._queue: queue.Queue[Path] = queue.Queue()
        self._queued: set[Path] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, paths: Iterable[Path]) -> int:
        """Queue the files not queued yet; the number now waiting."""
        with self._lock:
            for path in paths:
                if path not in self._queued:
                    self._queued.add(path)
                    self._queue.put(path)
            if self._queued and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._work, name="board-checks",
                                                daemon=True)
                self._thread.start()
            return len(self._queued)

    def pending(self) -> int:
        with self._lock:
            return len(self._queued)

    def _work(self) -> None:
        while True:
            try:
                path = self._queue.get(timeout=5)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            try:
                if path.is_file():
                    self._check(path)
            except Exception as exc:  # noqa: BLE001 (one file must not stop the others)
                log.error("background check failed: %s", type(exc).__name__)
            finally:
                with self._lock:
                    self._queued.discard(path)
