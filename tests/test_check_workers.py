"""The check workers (addin/web/workers.py) as real processes: the work runs elsewhere, two
books are checked at the same time, a worker that dies is replaced, and the real server has
as many as `--check-workers` says."""

from __future__ import annotations

import os
import random
import re
import time
from pathlib import Path

import pytest

from addin.web.workers import CheckWorkers, WorkerLost, pool_size
from workbook_templates.build import write_school_workbook
from workbook_templates.demo import make_school


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


@pytest.fixture
def workers():
    pool = CheckWorkers(2)
    yield pool
    pool.close()


def test_the_work_runs_in_other_processes_two_at_once(workers) -> None:
    workers.start(_pid_after, 0)
    assert workers.run(_pid_after, 0) != os.getpid()
    from concurrent.futures import ThreadPoolExecutor

    started = time.perf_counter()
    with ThreadPoolExecutor(2) as threads:  # as two requests would
        pids = list(threads.map(lambda _: workers.run(_pid_after, 1.0), range(2)))
    assert time.perf_counter() - started < 1.9, "the two did not run at the same time"
    assert len(set(pids)) == 2 and os.getpid() not in pids


def test_a_worker_that_dies_is_replaced(workers) -> None:
    first = workers.run(_pid_after, 0)
    with pytest.raises(WorkerLost):
        workers.run(os._exit, 3)  # dies on the first try and on the second
    after = workers.run(_pid_after, 0)
    assert after not in (first, os.getpid())


def test_an_exception_of_the_work_comes_back_as_it_is(workers) -> None:
    from addin.errors import WorkbookError
    from addin.web.checking import judge

    with pytest.raises(WorkbookError) as got:
        workers.run(judge, __file__)  # a Python file is no workbook
    assert got.value.message_ru


def test_the_size_is_one_per_core_unless_given() -> None:
    assert pool_size(0) == max(1, os.cpu_count() or 1)
    assert pool_size(3) == 3


@pytest.mark.parametrize("flag,expected", [(("--check-workers", "1"), 1), ((), pool_size(0))])
def test_the_server_checks_in_as_many_workers_as_told(tmp_path, flag, expected) -> None:
    """`serve --check-workers N` (default: one per core): the fork server under the real
    server has that many workers from the start, the page's checks are answered, and the
    workers' log lines are in the server's log."""
    import httpx

    from tests.storm import descendants
    from tests.web_bench import start_server, upload

    book = tmp_path / "книга.xlsx"
    write_school_workbook(book, make_school("ОО-001", random.Random(1), n_participants=20))
    server = start_server(*flag, log_path=tmp_path / "serve.log")
    try:
        broken = tmp_path / "испорчена.xlsx"
        broken.write_bytes(b"PK\x03\x04 not a whole zip")
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as c:
            for _ in range(3):
                assert 'id="status"' in upload(c, book).text
            assert "повреждён" in upload(c, broken).text
        forkserver = [p for p in descendants(server.proc.pid)
                      if "forkserver" in Path(f"/proc/{p}/cmdline").read_text()]
        workers = descendants(forkserver[0])
        assert len(forkserver) - 1 == len(workers) == expected
    finally:
        server.stop()
    # a worker logs as the server does, into the same log
    assert re.search(r"^\d{4}-\d\d-\d\d [\d:,]+ addin\.errors unreadable file: ", server.log(),
                     re.M), server.log()[-2000:]
