"""The municipal workspace's journal: every step of a school's report and every sync run.

One SQLite file in the collection folder (``<collect>/workspace/journal.sqlite``); each write is
one transaction, so a crash leaves either the whole step or none of it. It holds codes, logins,
periods, SHA-256 sums, counts, statuses and the staff's comments, never names or birth dates
(the school's findings stay in the workbook; the journal keeps their counts).

Tables:
    events    one row per step: submitted, returned, synced (the sync's verdict on a file),
              purged (the book deleted by retention), lockout (a login address shut out)
    checks    the check summary of a file by its SHA-256 (status, counts, period)
    files     SHA-256 of a file by (path, size, mtime), so the board does not re-hash
    jobs      sync runs started from the page: state, progress totals, message, outputs
    feedback  per run and school: the municipality's status, reason, cross-school notes
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from addin.web import clock
from addin.web.processes import process_alive

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, period TEXT NOT NULL,
    school TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, sha256 TEXT,
    status TEXT NOT NULL DEFAULT '', comment TEXT NOT NULL DEFAULT '',
    errors INTEGER, warnings INTEGER, job INTEGER);
CREATE INDEX IF NOT EXISTS events_school ON events (school, period);
CREATE TABLE IF NOT EXISTS checks (
    sha256 TEXT PRIMARY KEY, school TEXT NOT NULL, period TEXT NOT NULL, status TEXT NOT NULL,
    errors INTEGER NOT NULL, warnings INTEGER NOT NULL, advice INTEGER NOT NULL,
    file_error TEXT NOT NULL DEFAULT '', checked_at TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, period TEXT NOT NULL, actor TEXT NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT, state TEXT NOT NULL, pid INTEGER NOT NULL,
    boot TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '',
    master TEXT NOT NULL DEFAULT '',
    form TEXT NOT NULL DEFAULT '', accepted INTEGER, total INTEGER, seconds REAL);
CREATE TABLE IF NOT EXISTS feedback (
    job INTEGER NOT NULL, school TEXT NOT NULL, sha256 TEXT, status TEXT NOT NULL,
    reason TEXT NOT NULL, accepted INTEGER NOT NULL, notes TEXT NOT NULL,
    PRIMARY KEY (job, school));
"""

#: Columns added after a table was first released: (table, column, declaration). A journal
#: made by an older server gets them on open.
ADDED_COLUMNS = (("jobs", "boot", "TEXT NOT NULL DEFAULT ''"),
                 ("checks", "version", "TEXT NOT NULL DEFAULT ''"))

SUBMITTED, RETURNED, SYNCED, REGISTRY = "submitted", "returned", "synced", "registry"
#: A submitted book deleted by `nastavnik purge` (its sha256, period and school stay), and a
#: login address shut out after repeated failures (the address, never a code).
PURGED, LOCKOUT = "purged", "lockout"
#: This server process (a restarted server in a container may get the same pid again).
BOOT = secrets.token_hex(8)
RUNNING, DONE, FAILED = "running", "done", "failed"
INTERRUPTED_RU = ("Сбор прерван: сервер был остановлен или перезапущен во время сбора. Сводная "
                  "книга осталась прежней. Запустите сбор снова.")


def now_iso() -> str:
    return clock.now_iso()  # in the municipality's zone (serve --timezone)


@dataclass(frozen=True)
class Event:
    id: int
    at: str
    period: str
    school: str
    kind: str
    actor: str
    sha256: str | None
    status: str
    comment: str
    errors: int | None
    warnings: int | None
    job: int | None


@dataclass(frozen=True)
class Check:
    sha256: str
    school: str
    period: str
    status: str
    errors: int
    warnings: int
    advice: int
    file_error: str
    checked_at: str
    #: The book's template version ("" when unreadable or checked by an older server).
    version: str = ""


@dataclass(frozen=True)
class Job:
    id: int
    period: str
    actor: str
    started_at: str
    finished_at: str | None
    state: str
    pid: int
    boot: str
    message: str
    master: str
    form: str
    accepted: int | None
    total: int | None
    seconds: float | None


@dataclass(frozen=True)
class Feedback:
    job: int
    school: str
    sha256: str | None
    status: str
    reason: str
    accepted: bool
    notes: list[dict[str, str]]


class Journal:
    """The journal file; every method opens its own connection (safe across threads)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            for table, column, declaration in ADDED_COLUMNS:
                have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        os.chmod(self.path, 0o640)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One atomic transaction (BEGIN IMMEDIATE: writers queue, never interleave)."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- events
    def add_event(self, *, period: str, school: str, kind: str, actor: str,
                  sha256: str | None = None, status: str = "", comment: str = "",
                  errors: int | None = None, warnings: int | None = None,
                  job: int | None = None) -> int:
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO events (at, period, school, kind, actor, sha256, status, comment, "
                "errors, warnings, job) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (now_iso(), period, school, kind, actor, sha256, status, comment, errors,
                 warnings, job))
            return int(cur.lastrowid)

    def events(self, school: str | None = None) -> list[Event]:
        """Events in the order they happened (all schools, or one)."""
        with self._connect() as conn:
            if school is None:
                rows = conn.execute("SELECT * FROM events ORDER BY id").fetchall()
            else:
                rows = conn.execute("SELECT * FROM events WHERE school = ? ORDER BY id",
                                    (school,)).fetchall()
        return [Event(**dict(r)) for r in rows]

    def periods(self) -> list[str]:
        with self._connect() as conn:
            rows = conn.execute("SELECT period FROM events UNION SELECT period FROM jobs "
                                "UNION SELECT period FROM checks").fetchall()
        return sorted({r[0] for r in rows if r[0]}, reverse=True)

    # -- file hashes and check summaries
    def all_files(self) -> dict[str, tuple[int, int, str]]:
        """Every remembered file: path -> (size, mtime_ns, sha256), for one board in one read."""
        with self._connect() as conn:
            rows = conn.execute("SELECT path, size, mtime_ns, sha256 FROM files").fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def all_checks(self) -> dict[str, Check]:
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM checks").fetchall()
        return {r["sha256"]: Check(**dict(r)) for r in rows}

    def file_sha(self, path: str, size: int, mtime_ns: int) -> str | None:
        with self._connect() as conn:
            row = conn.execute("SELECT sha256 FROM files WHERE path=? AND size=? AND mtime_ns=?",
                               (path, size, mtime_ns)).fetchone()
        return row[0] if row else None

    def remember_file(self, path: str, size: int, mtime_ns: int, sha256: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO files VALUES (?,?,?,?)",
                         (path, size, mtime_ns, sha256))

    def check(self, sha256: str) -> Check | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM checks WHERE sha256=?", (sha256,)).fetchone()
        return Check(**dict(row)) if row else None

    def remember_check(self, check: Check) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO checks VALUES (?,?,?,?,?,?,?,?,?,?)",
                         (check.sha256, check.school, check.period, check.status, check.errors,
                          check.warnings, check.advice, check.file_error, check.checked_at,
                          check.version))

    # -- jobs
    def start_job(self, period: str, actor: str, after: int) -> tuple[int, bool]:
        """(job id, whether it is new). No new job while one runs, nor when a job was started
        after the one the staff member saw (`after`): a second press of the button, or two
        members pressing at once, joins the job already started."""
        with self._write() as conn:
            row = conn.execute("SELECT id, state FROM jobs ORDER BY id DESC LIMIT 1").fetchone()
            if row is not None and (row["state"] == RUNNING or row["id"] != after):
                return int(row["id"]), False
            cur = conn.execute(
                "INSERT INTO jobs (period, actor, started_at, state, pid, boot) "
                "VALUES (?,?,?,?,?,?)", (period, actor, now_iso(), RUNNING, os.getpid(), BOOT))
            return int(cur.lastrowid), True

    def finish_job(self, job_id: int, *, state: str, message: str = "", master: str = "",
                   form: str = "", accepted: int | None = None, total: int | None = None,
                   seconds: float | None = None,
                   verdicts: list[tuple[Feedback, str]] | None = None) -> None:
        """Close a job; a finished sync also records each school's verdict (one transaction)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET state=?, finished_at=?, message=?, master=?, form=?, "
                "accepted=?, total=?, seconds=? WHERE id=?",
                (state, now_iso(), message, master, form, accepted, total, seconds, job_id))
            job = conn.execute("SELECT period FROM jobs WHERE id=?", (job_id,)).fetchone()
            for fb, actor in verdicts or []:
                conn.execute("INSERT OR REPLACE INTO feedback VALUES (?,?,?,?,?,?,?)",
                             (job_id, fb.school, fb.sha256, fb.status, fb.reason,
                              int(fb.accepted), json.dumps(fb.notes, ensure_ascii=False)))
                if fb.sha256:
                    conn.execute(
                        "INSERT INTO events (at, period, school, kind, actor, sha256, status, "
                        "comment, job) VALUES (?,?,?,?,?,?,?,?,?)",
                        (now_iso(), job["period"], fb.school, SYNCED, actor, fb.sha256,
                         fb.status, "" if fb.accepted else fb.reason, job_id))

    def jobs(self, limit: int = 50) -> list[Job]:
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?",
                                (limit,)).fetchall()
        return [Job(**dict(r)) for r in rows]

    def job(self, job_id: int) -> Job | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return Job(**dict(row)) if row else None

    def last_job_id(self) -> int:
        with self._connect() as conn:
            row = conn.execute("SELECT MAX(id) FROM jobs").fetchone()
        return int(row[0] or 0)

    def fail_orphaned_jobs(self) -> int:
        """Jobs left «running» by a server that no longer runs become failed (another live
        server process on the same folder keeps its job)."""
        failed = 0
        for job in self.jobs(limit=20):
            if job.state != RUNNING or job.boot == BOOT:
                continue
            if job.pid == os.getpid() or not process_alive(job.pid):
                self.finish_job(job.id, state=FAILED, message=INTERRUPTED_RU)
                failed += 1
        return failed

    def feedback(self, school: str) -> tuple[Job, Feedback] | None:
        """The municipality's verdict on this school in the latest finished run."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT f.* FROM feedback f JOIN jobs j ON j.id = f.job WHERE f.school = ? "
                "AND j.state = ? ORDER BY f.job DESC LIMIT 1", (school, DONE)).fetchone()
        if row is None:
            return None
        data: dict[str, Any] = dict(row)
        data["notes"] = json.loads(data["notes"])
        data["accepted"] = bool(data["accepted"])
        job = self.job(int(data["job"]))
        assert job is not None
        return job, Feedback(**data)

