"""The short-lived result store of the check page.

A result lives in its own private folder (mode 0700) for at most RESULT_TTL seconds: the checked
file (needed for the submission and the annotated copy; deleted at once when unreadable), the
JSON report and, once asked for, the annotated copy. Expired results are purged lazily at every
request. A result is bound to the session that made it; each session keeps at most
RESULTS_PER_SESSION results (its oldest go first), so one visitor cannot push out the others.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from addin.web import collect

log = logging.getLogger("nastavnik.web")

RESULT_TTL = 15 * 60
ROOT_PREFIX = "nastavnik-web-"
RESULTS_PER_SESSION = 20
MAX_RESULTS = 2000


@dataclass
class Entry:
    """One check: its private folder, what the page shows and what may still be done."""

    token: str
    folder: Path
    created: float
    sid: str
    display_name: str
    suffix: str
    report_path: Path
    status: str
    school_code: str = ""
    school_name: str = ""
    period: str = ""
    checked: Path | None = None
    annotated: Path | None = None
    submit_token: str | None = None
    submit_blocked: str = ""  # why the submit button is not shown
    receipt: collect.Receipt | None = None
    #: (report, «Отчётный период») of a check made by the book's own date: submitting the same
    #: file gives the same verdict, so the submission need not read and check it again.
    verdict: tuple[Any, object] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class ResultStore:
    """Results by unguessable token; each expires RESULT_TTL seconds after the check."""

    def __init__(self, ttl: float = RESULT_TTL, limit: int = MAX_RESULTS,
                 per_session: int = RESULTS_PER_SESSION) -> None:
        self.ttl, self.limit, self.per_session = ttl, limit, per_session
        _remove_orphans()
        self.root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-"))  # mode 0700
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._submit: dict[str, str] = {}
        self._lock = threading.Lock()
        atexit.register(shutil.rmtree, self.root, ignore_errors=True)

    def close(self) -> None:
        """Remove every result (server shutdown)."""
        with self._lock:
            self._entries.clear()
            self._submit.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def new_folder(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="r-", dir=self.root))

    def add(self, entry: Entry) -> None:
        with self._lock:
            self._entries[entry.token] = entry
            if entry.submit_token:
                self._submit[entry.submit_token] = entry.token
        self.purge()

    def get(self, token: str, sid: str) -> Entry | None:
        self.purge()
        with self._lock:
            entry = self._entries.get(token)
        if entry is None or not secrets.compare_digest(entry.sid, sid):
            return None
        return entry

    def take_submission(self, submit_token: str, sid: str) -> tuple[Entry | None, bool]:
        """(entry, whether it belongs to this session); the token is used up only by its own
        session, so a leaked token neither works elsewhere nor can be spoiled."""
        self.purge()
        with self._lock:
            token = self._submit.get(submit_token)
            entry = self._entries.get(token) if token else None
            if entry is None:
                return None, False
            if not secrets.compare_digest(entry.sid, sid):
                return entry, False
            del self._submit[submit_token]
            entry.submit_token = None
        return entry, True

    def purge(self) -> None:
        now = time.time()
        doomed: list[Entry] = []
        with self._lock:
            held: dict[str, int] = {}
            for entry in self._entries.values():
                held[entry.sid] = held.get(entry.sid, 0) + 1
            for token, entry in list(self._entries.items()):  # oldest first
                expired = now - entry.created > self.ttl
                if expired or held[entry.sid] > self.per_session or \
                        len(self._entries) > self.limit:
                    held[entry.sid] -= 1
                    doomed.append(entry)
                    del self._entries[token]
                    if entry.submit_token:
                        self._submit.pop(entry.submit_token, None)
        for entry in doomed:
            with entry.lock:  # never remove a folder while its annotated copy is written
                shutil.rmtree(entry.folder, ignore_errors=True)
        if doomed:
            log.info("purged %d results", len(doomed))


def _remove_orphans() -> None:
    """Result folders left by a server that was killed (its process no longer exists)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*-*"):
        try:
            pid = int(folder.name[len(ROOT_PREFIX):].split("-", 1)[0])
            if folder.stat().st_uid != os.getuid() or pid == os.getpid():
                continue
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, OSError):
            continue
