"""A board with more unchecked books than a request may check answers at once and checks
the rest in the background (a folder of 2,000 new books took 5–11 s per view)."""

from __future__ import annotations

import time
from pathlib import Path

from addin.web.config import ServerConfig
from addin.web.workspace import SUBMITTED_RU, Workspace
from sync.workspace_service import FolderSyncService
from workbook_templates.demo import generate_municipality, write_municipality


def test_books_beyond_the_budget_are_checked_in_the_background(tmp_path: Path) -> None:
    muni = generate_municipality(n_schools=4, seed=3)
    collect = write_municipality(muni, tmp_path / "сдача")
    ws = Workspace(ServerConfig(collect_dir=collect, registry_path=collect / "registry.csv",
                                period="2026-11"), FolderSyncService())
    in_folder = {s.code for s in muni.schools if s.submission != "missing"}
    rows = ws.board("2026-11", budget=2)
    waiting = {r.code for r in rows if not r.checked}
    assert waiting == in_folder  # none checked within the request, none hashed
    assert all(r.status == SUBMITTED_RU and r.errors is None for r in rows if not r.checked)
    deadline = time.monotonic() + 120
    while ws.checks.pending() and time.monotonic() < deadline:
        time.sleep(0.2)
    rows = {r.code: r for r in ws.board("2026-11", budget=0)}
    assert all(rows[c].checked and rows[c].sha256 for c in in_folder)
    clean = [s.code for s in muni.schools if s.clean]
    assert clean and all(rows[c].errors == 0 for c in clean)


def test_a_few_unchecked_books_are_checked_within_the_request(tmp_path: Path) -> None:
    muni = generate_municipality(n_schools=2, seed=4)
    collect = write_municipality(muni, tmp_path / "сдача")
    ws = Workspace(ServerConfig(collect_dir=collect, registry_path=collect / "registry.csv",
                                period="2026-11"), FolderSyncService())
    rows = ws.board("2026-11")
    assert rows and all(r.checked for r in rows) and ws.checks.pending() == 0


def test_books_submitted_on_the_page_are_on_the_board_at_once(tmp_path: Path) -> None:
    """A deadline's rush of page submissions: the board shows each with its hash in the same
    view, with no check budget and nothing left to the background (the storm bench saw 3 of 50
    before the submission recorded the stored file)."""
    from addin.validate import validate_path
    from addin.web import collect

    muni = generate_municipality(n_schools=4, seed=5)
    root = write_municipality(muni, tmp_path / "книги")
    collect_dir = tmp_path / "сдача"
    collect_dir.mkdir()
    (collect_dir / "registry.csv").write_text(
        (root / "registry.csv").read_text(encoding="utf-8"), encoding="utf-8")
    ws = Workspace(ServerConfig(collect_dir=collect_dir,
                                registry_path=collect_dir / "registry.csv", period="2026-11"),
                   FolderSyncService())
    sent = {}
    for school in muni.schools:
        if school.submission != "ok":
            continue
        book = root / "schools" / f"{school.code}.xlsx"
        report = validate_path(book)
        receipt = collect.submit(collect_dir, book, school.code, school.name, "2026-11")
        ws.submitted(receipt, report)
        sent[school.code] = receipt.sha256
    rows = {r.code: r for r in ws.board("2026-11", budget=0)}
    assert sent and {c: rows[c].sha256 for c in sent} == sent
    assert all(rows[c].checked for c in sent) and ws.checks.pending() == 0


def test_a_book_whose_check_workers_died_is_checked_again_not_kept_unreadable(
        tmp_path: Path) -> None:
    """The workers are killed (as the kernel's OOM killer would) while they check a large
    book, twice: the board says the book could not be checked now, keeps no verdict, and the
    next check with live workers gives the book's real one."""
    import os
    import signal
    import threading

    from tests.storm import descendants
    from tests.web_bench import make_big_workbook

    collect = tmp_path / "сдача"
    collect.mkdir()
    book = make_big_workbook(collect / "большая.xlsx")
    ws = Workspace(ServerConfig(collect_dir=collect), None)
    stop = threading.Event()

    def kill_workers() -> None:  # every worker the fork server makes, as soon as it is there
        while not stop.is_set():
            for server in descendants(os.getpid()):
                try:
                    if "forkserver" not in Path(f"/proc/{server}/cmdline").read_text():
                        continue
                except OSError:  # ended meanwhile
                    continue
                for worker in descendants(server):
                    try:
                        os.kill(worker, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            stop.wait(0.02)

    killer = threading.Thread(target=kill_workers, daemon=True)
    sha = ws.sha_of(book)
    try:
        killer.start()
        check, report = ws.check_file(book, sha)
    finally:
        stop.set()
        killer.join()
    assert (check.status, report) == ("файл не читается", None)
    assert "внутренней ошибки" in check.file_error
    assert ws.journal.check(sha) is None  # not kept: the book is not to blame
    check, report = ws.check_file(book, sha)
    assert report is not None and check.status == report.status != "файл не читается"
    assert ws.journal.check(sha).status == check.status
    ws.workers.close()
