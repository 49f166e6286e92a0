"""`kill -9` of the real `nastavnik serve` in the middle of a deadline storm, then a restart on
the same folder: every submission a curator got a receipt for is on the board, no book in the
folder is half-written, the journal opens, and no check worker outlives the server.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import threading
import time
import zipfile

from addin.web.journal import Journal
from tests.storm import board, descendants, run_storm, storm_site
from tests.web_bench import start_server


def test_kill_9_during_the_storm_loses_no_receipted_submission(tmp_path) -> None:
    site = storm_site(tmp_path, [125] * 10)
    args = ("--collect-dir", site.collect, "--access-file", site.access, "--registry",
            site.registry, "--period", "2026-11")
    server = start_server(*args, log_path=tmp_path / "serve.log")
    outcomes: list = []
    storm = threading.Thread(target=lambda: outcomes.extend(
        run_storm(server.url, site.curators, timeout=60)))
    storm.start()
    log = site.collect / "submissions.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill once some, not all, submissions are stored
        if log.exists() and len(log.read_text(encoding="utf-8").splitlines()) >= 3:
            break
        time.sleep(0.01)
    workers = descendants(server.proc.pid)  # the check workers and their fork server
    assert workers, "the books were not checked in worker processes"
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=30)
    storm.join()
    deadline = time.monotonic() + 20
    while (alive := [p for p in workers if _running(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive, f"check workers outlived the killed server: {alive}"
    receipted = {o.code: o.receipt for o in outcomes if o.receipt}
    assert receipted, "no curator got a receipt before the kill"
    assert len(receipted) < len(site.curators), "the kill came after the storm"

    # No half-written book: each current and archived file is a whole zip of a known book.
    books = {hashlib.sha256(c.book.read_bytes()).hexdigest() for c in site.curators}
    for path in [*(site.collect / "schools").glob("*.xlsx"),
                 *(site.collect / "archive").rglob("*.xlsx")]:
        if path.name.startswith(".tmp-"):  # a write cut short: never read as a book
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest in books, f"{path} is not a whole submitted book"
        assert zipfile.ZipFile(path).testzip() is None
    journal = site.collect / "workspace" / "journal.sqlite"
    with sqlite3.connect(journal) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert Journal(journal).events()  # opens as the server opens it

    again = start_server(*args, log_path=tmp_path / "serve-again.log")
    try:
        rows = board(again.url)
    finally:
        again.stop()
    for code, receipt in receipted.items():
        assert rows[code].status == "сдано", (code, rows[code])
        assert rows[code].sha256 == receipt, code
    for code, row in rows.items():  # a stored book without a receipt is whole, or absent
        assert row.status in ("сдано", "не сдано"), (code, row)


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting for its parent."""
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
