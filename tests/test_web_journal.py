"""The workspace journal (addin/web/journal.py): one transaction per step, one job at a time,
jobs of a server that is gone are failed — also when the new server got the same pid."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from addin.web import journal as J


def test_a_job_runs_once_and_a_second_press_joins_it(tmp_path: Path) -> None:
    j = J.Journal(tmp_path / "journal.sqlite")
    first, new = j.start_job("2026-11", "metodist1", after=0)
    assert new and first == 1
    assert j.start_job("2026-11", "metodist2", after=0) == (first, False)  # running
    j.finish_job(first, state=J.DONE)
    assert j.start_job("2026-11", "metodist1", after=0) == (first, False)  # pressed twice
    second, new = j.start_job("2026-11", "metodist1", after=first)
    assert new and second == 2


def test_jobs_of_a_server_that_is_gone_are_failed(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    j = J.Journal(path)
    mine, _ = j.start_job("2026-11", "metodist1", after=0)
    with sqlite3.connect(path) as conn:  # as a previous server with the same pid left it
        conn.execute("UPDATE jobs SET boot = 'previous-server' WHERE id = ?", (mine,))
    assert j.fail_orphaned_jobs() == 1
    job = j.job(mine)
    assert job.state == J.FAILED and job.message == J.INTERRUPTED_RU
    # A job of this very server, and one of another live process, are left alone.
    j.finish_job(mine, state=J.FAILED)
    own, _ = j.start_job("2026-11", "metodist1", after=mine)
    assert j.fail_orphaned_jobs() == 0 and j.job(own).state == J.RUNNING
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE jobs SET boot = 'other', pid = ? WHERE id = ?", (os.getppid(), own))
    assert j.fail_orphaned_jobs() == 0 and j.job(own).state == J.RUNNING


def test_a_step_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    j = J.Journal(tmp_path / "journal.sqlite")
    job, _ = j.start_job("2026-11", "metodist1", after=0)
    good = (J.Feedback(job, "ОО-001", "a" * 64, "принят", "замечаний нет", True, []), "свод")
    bad = (J.Feedback(job, None, "b" * 64, "отклонён", "x", False, []), "свод")  # no school
    with pytest.raises(sqlite3.IntegrityError):  # the last verdict cannot be stored
        j.finish_job(job, state=J.DONE, verdicts=[good, bad])  # type: ignore[list-item]
    assert j.job(job).state == J.RUNNING  # nothing of the failed step was kept
    assert j.events() == []


def test_a_journal_of_an_older_server_gets_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    with sqlite3.connect(path) as conn:  # the jobs table as first released (no «boot»)
        conn.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, period TEXT NOT "
                     "NULL, actor TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, "
                     "state TEXT NOT NULL, pid INTEGER NOT NULL, message TEXT NOT NULL DEFAULT "
                     "'', master TEXT NOT NULL DEFAULT '', form TEXT NOT NULL DEFAULT '', "
                     "accepted INTEGER, total INTEGER, seconds REAL)")
        conn.execute("INSERT INTO jobs (period, actor, started_at, state, pid) "
                     "VALUES ('2026-10', 'metodist1', '2026-10-25T10:00:00+03:00', 'done', 1)")
    j = J.Journal(path)
    assert [job.id for job in j.jobs()] == [1]
    assert j.start_job("2026-11", "metodist1", after=1) == (2, True)
