"""The record of every letter: a table ``letters`` in the workspace's journal file
(``<collect>/workspace/journal.sqlite``). One row per attempt: the organisation's code, time,
period, kind, the key that makes a letter unique (the day of a reminder, the return's event,
the sync run), outcome and the server's reason. Never an address's owner, a name or a
participant: letters carry none, and the record keeps only the count of addresses.
"""

from __future__ import annotations

import fcntl
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from addin.mail.sender import SENT

SCHEMA = """
CREATE TABLE IF NOT EXISTS letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, period TEXT NOT NULL,
    school TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, outcome TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '', recipients INTEGER NOT NULL DEFAULT 0,
    actor TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS letters_key ON letters (kind, key, school);
"""


@dataclass(frozen=True)
class LetterRow:
    id: int
    at: str
    period: str
    school: str
    kind: str
    key: str
    outcome: str
    reason: str
    recipients: int
    actor: str


class LetterLog:
    """The ``letters`` table of one journal file (each call opens its own connection)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One batch at a time across processes (the page and a timer's `nastavnik remind`
        on the same folder): the second waits, then finds the letters recorded."""
        lock = self.path.with_name(self.path.name + ".letters.lock")
        with lock.open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def add(self, *, period: str, school: str, kind: str, key: str, outcome: str,
            reason: str = "", recipients: int = 0, actor: str = "") -> None:
        """Record one attempt (its own transaction: a crash keeps every earlier one)."""
        at = datetime.now().astimezone().isoformat(timespec="seconds")
        with self._connect() as conn:
            conn.execute("INSERT INTO letters (at, period, school, kind, key, outcome, reason, "
                         "recipients, actor) VALUES (?,?,?,?,?,?,?,?,?)",
                         (at, period, school, kind, key, outcome, reason, recipients, actor))

    def sent(self, kind: str, key: str) -> set[str]:
        """Codes that already got the letter of this kind and key."""
        with self._connect() as conn:
            rows = conn.execute("SELECT DISTINCT school FROM letters WHERE kind=? AND key=? "
                                "AND outcome=?", (kind, key, SENT)).fetchall()
        return {r[0] for r in rows}

    def rows(self, *, period: str | None = None, school: str | None = None) -> list[LetterRow]:
        """Attempts in the order they happened (optionally of one period or school)."""
        query, args = "SELECT * FROM letters WHERE 1=1", []
        if period is not None:
            query, args = query + " AND period=?", [*args, period]
        if school is not None:
            query, args = query + " AND school=?", [*args, school]
        with self._connect() as conn:
            found = conn.execute(query + " ORDER BY id", args).fetchall()
        return [LetterRow(**dict(r)) for r in found]

    def latest(self, period: str, kinds: tuple[str, ...]) -> dict[str, LetterRow]:
        """Each school's latest attempt of these kinds in the period."""
        last: dict[str, LetterRow] = {}
        for row in self.rows(period=period):
            if row.kind in kinds:
                last[row.school] = row
        return last
