"""`nastavnik backup`, `restore` and `purge` through the real console script, against a real
`nastavnik serve` taking submissions and running «Собрать свод» at the same time.

The books are generated (tests/storm.py: invented people); the boards are read back from the
staff pages of a server over the original folder and of a second server over the restored one.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import sqlite3
import tarfile
import threading
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from addin.folder_lock import folder_lock
from sync.backup import BackupError, backup, restore
from sync.retention import purge
from tests.cli import run
from tests.storm import (
    PERIOD,
    STAFF_LOGIN,
    STAFF_SECRET,
    board,
    curator_run,
    login,
    run_storm,
    storm_site,
)
from tests.web_bench import csrf_of, start_server

OLD = "2026-09"


def serve(site, collect: Path | None = None, log: Path | None = None):  # noqa: ANN001, ANN201
    return start_server("--collect-dir", collect or site.collect, "--access-file", site.access,
                        "--registry", site.registry, "--period", PERIOD, log_path=log)


def start_sync(url: str, period: str = PERIOD) -> tuple[httpx.Client, int]:
    c = httpx.Client(base_url=url, follow_redirects=True, timeout=300)
    login(c, STAFF_LOGIN, STAFF_SECRET)
    html = c.get("/staff/sync").text
    after = re.search(r'name="after" value="(\d+)"', html).group(1)
    r = c.post("/staff/sync", data={"csrf": csrf_of(html), "after": after, "period": period},
               follow_redirects=False)
    return c, int(re.search(r"#run-(\d+)$", r.headers["location"]).group(1))


def wait_job(c: httpx.Client, job: int, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = c.get(f"/staff/sync/{job}/progress").json()["state"]
        if state != "running":
            return state
        time.sleep(0.2)
    raise AssertionError(f"sync job {job} still running")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def books_on_disk(folder: Path) -> dict[str, Path]:
    """SHA-256 -> path of every workbook anywhere in the folder."""
    return {sha(p): p for p in folder.rglob("*") if p.suffix in (".xlsx", ".xlsm", ".ods")
            and p.is_file() and "workspace" not in p.parts}


def journal_ok(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_backup_during_submissions_and_a_sync_restores_the_same_board_and_master(tmp_path):
    site = storm_site(tmp_path, [125] * 6)
    server = serve(site, log=tmp_path / "serve.log")
    hammered = site.curators[0]
    try:
        assert all(not o.error for o in run_storm(server.url, site.curators[:4]))
        staff, job = start_sync(server.url)
        stop = threading.Event()
        receipts: list[str] = []

        def keep_submitting() -> None:  # one school resubmits all through the backup
            while not stop.is_set():
                receipts.append(curator_run(server.url, hammered).receipt)

        submitter = threading.Thread(target=keep_submitting)
        submitter.start()
        try:
            done = run("backup", "--collect-dir", site.collect, "--out",
                       tmp_path / "копии" / "архив.tar.gz")
        finally:
            stop.set()
            submitter.join()
        assert done.returncode == 0, done.stderr
        assert "Резервная копия" in done.stdout
        assert wait_job(staff, job) == "done"
        original = board(server.url)
        master = site.collect / "workspace" / "runs" / str(job) / f"свод-{PERIOD}.xlsx"
        master_sha = sha(master)
    finally:
        server.stop()
    assert any(receipts), "no submission went through during the backup"

    into = tmp_path / "восстановлено"
    done = run("restore", tmp_path / "копии" / "архив.tar.gz", "--into", into)
    assert done.returncode == 0, done.stderr
    journal_ok(into / "workspace" / "journal.sqlite")
    assert sha(into / "workspace" / "runs" / str(job) / master.name) == master_sha
    again = serve(site, collect=into)
    try:
        restored = board(again.url)
    finally:
        again.stop()
    assert set(restored) == set(original)
    for code in original:
        if code != hammered.code:
            assert restored[code] == original[code], code
    # The school submitting during the backup: its file and its journal event came together.
    row = restored[hammered.code]
    assert row.status in ("сдано", "принято") and row.sha256 == sha(hammered.book)
    with sqlite3.connect(into / "workspace" / "journal.sqlite") as conn:
        kinds = {k for (k,) in conn.execute(
            "SELECT kind FROM events WHERE school=? AND sha256=?", (hammered.code, row.sha256))}
    assert "submitted" in kinds


def test_purge_deletes_old_books_and_the_board_and_sync_still_work(tmp_path):
    old = storm_site(tmp_path / "old", [125] * 3, period=OLD)
    new = storm_site(tmp_path / "new", [125], period=PERIOD)
    server = serve(old, log=tmp_path / "serve.log")
    try:
        assert all(not o.error for o in run_storm(server.url, old.curators))
        staff, job = start_sync(server.url, period=OLD)  # its master lists people by name
        assert wait_job(staff, job) == "done"
        assert not curator_run(server.url, new.curators[0]).error  # ОО-001 for 2026-11 too
        old_books = {sha(c.book) for c in old.curators}
        assert old_books <= set(books_on_disk(old.collect))
        old_master = old.collect / "workspace" / "runs" / str(job) / f"свод-{OLD}.xlsx"
        assert old_master.is_file()

        # three archived copies of 2026-09 and two current books (ОО-001 is now of 2026-11)
        dry = run("purge", "--collect-dir", old.collect, "--before", "2026-10", "--dry-run")
        assert dry.returncode == 0 and "Будет удалено книг: 5" in dry.stdout, dry.stdout
        assert old_books <= set(books_on_disk(old.collect))
        done = run("purge", "--collect-dir", old.collect, "--before", "2026-10")
        assert done.returncode == 0, done.stderr
        assert "Удалено книг: 5" in done.stdout and OLD in done.stdout
        assert "Удалено сводных книг сборов за эти периоды: 2" in done.stdout, done.stdout
        assert not old_master.exists() and not (old.collect / "workspace" / "свод.xlsx").exists()
        left = books_on_disk(old.collect)
        assert not old_books & set(left), "a book of a purged period is still on disk"
        assert set(left) == {sha(new.curators[0].book)}

        rows = board(server.url, period=OLD)
        for c in old.curators:  # as the sync of 2026-09 judged them
            assert rows[c.code].status.startswith("принято"), rows[c.code]
            assert rows[c.code].sha256 == sha(c.book)
            assert rows[c.code].note == "книга удалена по сроку хранения"
        now = board(server.url, period=PERIOD)
        assert now["ОО-001"].status == "сдано" and now["ОО-001"].note == ""
        assert now["ОО-002"].status == "не сдано"
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as c:
            login(c, STAFF_LOGIN, STAFF_SECRET)
            gone = c.get(f"/staff/runs/{job}/master")
        assert gone.status_code == 404 and "файл удалён" in gone.text
        staff, job = start_sync(server.url)
        assert wait_job(staff, job) == "done"
        assert board(server.url, period=PERIOD)["ОО-001"].status.startswith("принято")
        assert (old.collect / "workspace" / "свод.xlsx").is_file()
    finally:
        server.stop()
    with sqlite3.connect(old.collect / "workspace" / "journal.sqlite") as conn:
        purged = {r[0] for r in conn.execute("SELECT sha256 FROM events WHERE kind='purged'")}
    assert purged == old_books


def test_each_command_refuses_a_wrong_target_in_russian(tmp_path):
    collect = tmp_path / "сдача"
    (collect / "schools").mkdir(parents=True)
    (collect / "schools" / "ОО-001.xlsx").write_bytes(b"not a book")
    archive = tmp_path / "архив.tar.gz"
    assert run("backup", "--collect-dir", collect, "--out", archive).returncode == 0
    future = date.today().replace(day=1).replace(year=date.today().year + 1).strftime("%Y-%m")
    cases = [  # through the console script: each command's refusal of a wrong target
        (("backup", "--collect-dir", tmp_path / "нет", "--out", tmp_path / "a.tar.gz"),
         "не найдена"),
        (("backup", "--collect-dir", collect, "--out", collect / "a.tar.gz"), "внутрь"),
        (("restore", archive, "--into", collect), "не пуста"),
        (("restore", collect / "schools" / "ОО-001.xlsx", "--into", tmp_path / "new"),
         "не архив nastavnik backup"),
        (("purge", "--collect-dir", tmp_path / "нет", "--before", "2025-01"), "не найдена"),
        (("purge", "--collect-dir", collect, "--before", future), "ещё не наступил"),
    ]
    for args, words in cases:
        done = run(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert words in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    # the other wrong targets, by the same functions the commands call
    for call, words in [
        (lambda: backup(tmp_path, tmp_path / "a.tar.gz"), "не похожа на папку сбора"),
        (lambda: backup(collect, tmp_path / "a.zip"), ".tar.gz"),
        (lambda: restore(tmp_path / "нет.tar.gz", tmp_path / "new"), "не найден"),
        (lambda: purge(collect, "2025-13"), "не период"),
        (lambda: purge(collect / "schools" / "ОО-001.xlsx", "2025-01"), "файл, а нужна папка"),
    ]:
        with pytest.raises(BackupError, match=words):
            call()
    assert not (tmp_path / "new").exists() and not (tmp_path / "a.tar.gz").exists()
    assert (collect / "schools" / "ОО-001.xlsx").read_bytes() == b"not a book"


def test_a_damaged_archive_restores_nothing(tmp_path):
    collect = tmp_path / "сдача"
    (collect / "schools").mkdir(parents=True)
    (collect / "schools" / "ОО-001.xlsx").write_bytes(b"x" * 5000)
    archive = tmp_path / "архив.tar.gz"
    assert run("backup", "--collect-dir", collect, "--out", archive).returncode == 0
    damaged = tmp_path / "испорчен.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()
            if m.name.endswith("ОО-001.xlsx"):
                data = b"y" + data[1:]
            dst.addfile(m, io.BytesIO(data))
    done = run("restore", damaged, "--into", tmp_path / "new")
    assert done.returncode == 2 and "SHA-256 не совпадает" in done.stderr
    assert not (tmp_path / "new").exists()
    done = run("restore", archive, "--into", tmp_path / "new")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "new" / "schools" / "ОО-001.xlsx").read_bytes() == b"x" * 5000


def test_backup_waits_while_a_step_holds_the_folder(tmp_path):
    """A submission or a sync holds the folder's lock shared: the backup (another process)
    waits for it, says so, and gives up in Russian after --wait seconds."""
    collect = tmp_path / "сдача"
    (collect / "schools").mkdir(parents=True)
    (collect / "schools" / "ОО-001.xlsx").write_bytes(b"x")
    with folder_lock(collect, shared=True):
        done = run("backup", "--collect-dir", collect, "--out", tmp_path / "a.tar.gz",
                   "--wait", "1")
    assert done.returncode == 2, done.stdout
    assert "жду его окончания" in done.stdout and "занята дольше 1 с" in done.stderr
    assert not (tmp_path / "a.tar.gz").exists()


def test_purge_removes_temporary_files_left_by_a_killed_server(tmp_path):
    collect = tmp_path / "сдача"
    (collect / "archive" / "ОО-001" / "2026-11").mkdir(parents=True)
    (collect / "schools").mkdir()
    stale = collect / "schools" / ".tmp-k3j2.xlsx"
    stale_archived = collect / "archive" / "ОО-001" / "2026-11" / ".tmp-9x.xlsx"
    fresh = collect / "schools" / ".tmp-now.xlsx"  # a submission being written right now
    for path in (stale, stale_archived, fresh):
        path.write_bytes(b"half a book")
    for path in (stale, stale_archived):
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    done = run("purge", "--collect-dir", collect, "--before", "2025-01")
    assert done.returncode == 0, done.stderr
    assert "Удалено книг: 0" in done.stdout and "временных файлов" in done.stdout
    assert not stale.exists() and not stale_archived.exists() and fresh.exists()
