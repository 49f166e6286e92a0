"""The survey waves and their answers: one SQLite file beside the journal
(``<collect>/workspace/surveys.sqlite``), with no names.

A wave belongs to one school: December or May of a school year, for mentors, mentees or both.
Each participant of the wave has a one-time code of 12 digits (easy to type on a phone, no
Latin/Cyrillic look-alikes, about 40 bits: with the throttle of the answer page, guessing is
hopeless). The table keeps the code itself, so the curator can print the slips again; a code
only lets someone answer the questionnaire of one participant ID. An answer is JSON of the
question keys (`workbook_templates.surveys`); it can be corrected only with the edit token
given to the browser that sent it, and only while the wave is open. Deleting a wave deletes
its codes and answers.

Every write is one transaction (WAL, a busy timeout), so concurrent phones never see half an
answer and one code cannot be answered twice by two phones at the same moment.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS waves (
    id TEXT PRIMARY KEY, school TEXT NOT NULL, wave TEXT NOT NULL,
    start_year INTEGER NOT NULL, roles TEXT NOT NULL, opened_at TEXT NOT NULL,
    opened_by TEXT NOT NULL, closed_at TEXT, transferred_at TEXT, transferred INTEGER);
CREATE INDEX IF NOT EXISTS waves_school ON waves (school);
CREATE TABLE IF NOT EXISTS codes (
    code TEXT PRIMARY KEY, wave TEXT NOT NULL REFERENCES waves (id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL, role TEXT NOT NULL, answered_at TEXT, edit_hash TEXT,
    answers TEXT);
CREATE INDEX IF NOT EXISTS codes_wave ON codes (wave);
"""

CODE_DIGITS = 12
#: Closed waves whose answers were transferred are deleted this many days later.
KEEP_TRANSFERRED_DAYS = 30


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def normalize_code(text: str) -> str:
    """The digits of a typed code («4821 0937-5512» -> «482109375512»); "" when not a code."""
    digits = re.sub(r"[\s\-–—.]", "", text or "")
    return digits if re.fullmatch(rf"\d{{{CODE_DIGITS}}}", digits) else ""


def shown_code(code: str) -> str:
    """A code as printed: groups of four digits."""
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


def new_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class WaveExists(Exception):
    """The school already has an open wave of this month and school year."""

    def __init__(self, wave_id: str) -> None:
        super().__init__(wave_id)
        self.wave_id = wave_id


class Saved(StrEnum):
    """What became of an answer."""

    NEW = "new"
    CORRECTED = "corrected"
    USED = "used"  # the code has an answer and the sender has not its edit token
    CLOSED = "closed"  # the wave is closed
    UNKNOWN = "unknown"  # no such code


@dataclass(frozen=True)
class Wave:
    id: str
    school: str
    wave: str
    start_year: int
    roles: tuple[str, ...]
    opened_at: str
    opened_by: str
    closed_at: str | None
    transferred_at: str | None
    transferred: int | None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True)
class Code:
    """One participant's code and, once given, the answer behind it."""

    code: str
    wave_id: str
    participant_id: str
    role: str
    answered_at: str | None
    edit_hash: str | None
    answers: dict[str, Any] | None

    def editable_by(self, token: str) -> bool:
        return bool(self.edit_hash and token
                    and secrets.compare_digest(self.edit_hash, token_hash(token)))


class SurveyStore:
    """The waves of one server (a connection per thread: threads and processes share the file)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (opened once: a phone's answer costs no connect)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            # WAL with NORMAL: a commit survives a crash of the server; only a power cut may
            # lose the last answers, and a commit costs no fsync (a class answers at once)
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        yield db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (no upgrade deadlock between writers)."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- waves --------------------------------------------------------------------------------
    def open_wave(self, school: str, wave: str, start_year: int, roles: Sequence[str],
                  participants: Sequence[tuple[str, str]], by: str) -> Wave:
        """A new open wave with one code per (participant ID, role); WaveExists when the
        school has an open wave of this month and year already."""
        with self._write() as db:
            row = db.execute("SELECT id FROM waves WHERE school=? AND wave=? AND start_year=? "
                             "AND closed_at IS NULL", (school, wave, start_year)).fetchone()
            if row is not None:
                raise WaveExists(row["id"])
            wave_id = secrets.token_urlsafe(12)
            db.execute("INSERT INTO waves (id, school, wave, start_year, roles, opened_at, "
                       "opened_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (wave_id, school, wave, start_year, ",".join(roles), now_iso(), by))
            self._add_codes(db, wave_id, participants)
        return self.wave(wave_id)

    def add_participants(self, wave_id: str, participants: Sequence[tuple[str, str]]) -> int:
        """Codes for participants of the wave who have none yet; how many were added."""
        with self._write() as db:
            have = {(r["participant_id"], r["role"]) for r in db.execute(
                "SELECT participant_id, role FROM codes WHERE wave=?", (wave_id,))}
            new = [p for p in participants if p not in have]
            self._add_codes(db, wave_id, new)
        return len(new)

    @staticmethod
    def _add_codes(db: sqlite3.Connection, wave_id: str,
                   participants: Sequence[tuple[str, str]]) -> None:
        for participant_id, role in participants:
            while True:  # a clash of random codes is rare; draw again
                try:
                    db.execute("INSERT INTO codes (code, wave, participant_id, role) "
                               "VALUES (?, ?, ?, ?)", (new_code(), wave_id, participant_id,
                                                       role))
                    break
                except sqlite3.IntegrityError:
                    continue

    def wave(self, wave_id: str) -> Wave | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM waves WHERE id=?", (wave_id,)).fetchone()
        return _wave(row) if row is not None else None

    def waves(self, school: str | None) -> list[Wave]:
        """The waves of a school (every wave when None), newest first."""
        with self._db() as db:
            if school is None:
                rows = db.execute("SELECT * FROM waves ORDER BY opened_at DESC").fetchall()
            else:
                rows = db.execute("SELECT * FROM waves WHERE school=? ORDER BY opened_at DESC",
                                  (school,)).fetchall()
        return [_wave(r) for r in rows]

    def progress(self, wave_id: str) -> dict[str, tuple[int, int]]:
        """Role -> (answered, codes)."""
        with self._db() as db:
            rows = db.execute("SELECT role, COUNT(answered_at) AS answered, COUNT(*) AS total "
                              "FROM codes WHERE wave=? GROUP BY role", (wave_id,)).fetchall()
        return {r["role"]: (r["answered"], r["total"]) for r in rows}

    def codes(self, wave_id: str) -> list[Code]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM codes WHERE wave=? ORDER BY role, participant_id",
                              (wave_id,)).fetchall()
        return [_code(r) for r in rows]

    def answered(self, wave_id: str) -> list[Code]:
        return [c for c in self.codes(wave_id) if c.answered_at is not None]

    def close(self, wave_id: str) -> None:
        with self._write() as db:
            db.execute("UPDATE waves SET closed_at=? WHERE id=? AND closed_at IS NULL",
                       (now_iso(), wave_id))

    def mark_transferred(self, wave_id: str, n: int) -> None:
        with self._write() as db:
            db.execute("UPDATE waves SET transferred_at=?, transferred=? WHERE id=?",
                       (now_iso(), n, wave_id))

    def delete(self, wave_id: str) -> None:
        """The wave with its codes and answers."""
        with self._write() as db:
            db.execute("DELETE FROM codes WHERE wave=?", (wave_id,))
            db.execute("DELETE FROM waves WHERE id=?", (wave_id,))

    def purge(self, days: int = KEEP_TRANSFERRED_DAYS) -> int:
        """Delete closed waves transferred more than `days` ago; how many were deleted."""
        limit = (datetime.now().astimezone() - timedelta(days=days)).isoformat(
            timespec="seconds")
        with self._write() as db:
            doomed = [r["id"] for r in db.execute(
                "SELECT id FROM waves WHERE closed_at IS NOT NULL AND transferred_at IS NOT "
                "NULL AND transferred_at < ?", (limit,))]
            for wave_id in doomed:
                db.execute("DELETE FROM codes WHERE wave=?", (wave_id,))
                db.execute("DELETE FROM waves WHERE id=?", (wave_id,))
        return len(doomed)

    # -- answers ------------------------------------------------------------------------------
    def lookup(self, code: str) -> tuple[Code, Wave] | None:
        """The code and its wave, None for an unknown code."""
        with self._db() as db:
            row = db.execute("SELECT * FROM codes WHERE code=?", (code,)).fetchone()
            if row is None:
                return None
            wave = db.execute("SELECT * FROM waves WHERE id=?", (row["wave"],)).fetchone()
        return (_code(row), _wave(wave)) if wave is not None else None

    def save_answer(self, code: str, answers: dict[str, Any], edit_token: str,
                    new_token: str) -> Saved:
        """Store the answer of a code in one transaction: a first answer (the browser gets
        `new_token` to correct it), or a correction by the holder of `edit_token`."""
        with self._write() as db:
            row = db.execute("SELECT c.*, w.closed_at FROM codes c JOIN waves w "
                             "ON w.id = c.wave WHERE c.code=?", (code,)).fetchone()
            if row is None:
                return Saved.UNKNOWN
            if row["closed_at"] is not None:
                return Saved.CLOSED
            payload = json.dumps(answers, ensure_ascii=False)
            if row["answered_at"] is None:
                db.execute("UPDATE codes SET answered_at=?, edit_hash=?, answers=? WHERE code=?",
                           (now_iso(), token_hash(new_token), payload, code))
                return Saved.NEW
            if not _code(row).editable_by(edit_token):
                return Saved.USED
            db.execute("UPDATE codes SET answered_at=?, answers=? WHERE code=?",
                       (now_iso(), payload, code))
            return Saved.CORRECTED


def _wave(row: sqlite3.Row) -> Wave:
    return Wave(row["id"], row["school"], row["wave"], row["start_year"],
                tuple(r for r in row["roles"].split(",") if r), row["opened_at"],
                row["opened_by"], row["closed_at"], row["transferred_at"], row["transferred"])


def _code(row: sqlite3.Row) -> Code:
    return Code(row["code"], row["wave"], row["participant_id"], row["role"],
                row["answered_at"], row["edit_hash"],
                json.loads(row["answers"]) if row["answers"] else None)
