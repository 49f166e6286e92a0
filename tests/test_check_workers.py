"""The check workers (addin/web/workers.py) as real processes: the work runs elsewhere, two
books are checked at the same time, and a worker that dies is replaced."""

from __future__ import annotations

import os
import time

import pytest

from addin.web.workers import CheckWorkers, WorkerLost, pool_size


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


@pytest.fixture
def workers():
    pool = CheckWorkers(2)
    yield pool
    pool.close()


def test_the_work_runs_in_other_processes_two_at_once(workers) -> None:
    workers.start()
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
