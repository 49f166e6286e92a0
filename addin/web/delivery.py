"""Whether each «Собрать свод» reached the regional history: the page's «в регион не передано»
and its retry.

A run started from the page writes the municipal history beside its master first, then sends
the period to the regional database (`serve --db`). If the region cannot be reached the master
and the local history stand; the run is recorded here as pending with the reason, and «Передать
в регион» sends the same period again later without a new sync. One table of its own in the
workspace journal's SQLite file (codes, periods and Russian reasons only).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

DELIVERED, PENDING = "delivered", "pending"

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    job INTEGER PRIMARY KEY, period TEXT NOT NULL, state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '', at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 1);
"""


class DeliveryFailed(Exception):
    """The period did not reach the regional history (Russian message); nothing was lost."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


@dataclass(frozen=True)
class Delivery:
    job: int
    period: str
    state: str
    reason: str
    at: str
    attempts: int

    @property
    def pending(self) -> bool:
        return self.state == PENDING


class Deliveries:
    """The delivery state of each run, in the journal's database file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def record(self, job: int, period: str, state: str, reason: str = "") -> None:
        """The first attempt's result for a run."""
        with self._connect() as conn:
            conn.execute("INSERT OR REPLACE INTO deliveries (job, period, state, reason, at) "
                         "VALUES (?, ?, ?, ?, ?)", (job, period, state, reason, _now()))

    def retried(self, job: int, state: str, reason: str = "") -> None:
        """A retry's result. Delivered: every pending run of the period is delivered too
        (the period was sent as the history holds it now)."""
        with self._connect() as conn:
            conn.execute("UPDATE deliveries SET state = ?, reason = ?, at = ?, "
                         "attempts = attempts + 1 WHERE job = ?", (state, reason, _now(), job))
            if state == DELIVERED:
                conn.execute("UPDATE deliveries SET state = ?, reason = '' WHERE state = ? "
                             "AND period = (SELECT period FROM deliveries WHERE job = ?)",
                             (DELIVERED, PENDING, job))

    def get(self, job: int) -> Delivery | None:
        with self._connect() as conn:
            row = conn.execute("SELECT job, period, state, reason, at, attempts FROM "
                               "deliveries WHERE job = ?", (job,)).fetchone()
        return Delivery(*row) if row else None

    def all(self) -> dict[int, Delivery]:
        with self._connect() as conn:
            rows = conn.execute("SELECT job, period, state, reason, at, attempts FROM "
                                "deliveries").fetchall()
        return {r[0]: Delivery(*r) for r in rows}


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
