"""The end of a sync: the master is written in a forked process while the history is saved
(sync/beside.py), and all-or-nothing still holds: a failure on either side leaves the previous
master, no half-written files beside it, and no recorded period."""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import os
from pathlib import Path

import pytest

from sync import master as M
from sync.beside import Beside, WorkerLost
from sync.service import SyncOptions, run_sync
from sync.store import Store
from workbook_templates.demo import generate_municipality, write_municipality


@pytest.fixture
def synced(tmp_path: Path) -> tuple[SyncOptions, Path, str]:
    """A municipality synced once: (options of the next period, master, its digest)."""
    muni = generate_municipality(n_schools=8, seed=5)
    root = write_municipality(muni, tmp_path / "сдача")
    out = tmp_path / "свод" / "свод.xlsx"
    out.parent.mkdir()
    run_sync(SyncOptions(registry=root / "registry.csv", period="2026-11", out=out))
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    return SyncOptions(registry=root / "registry.csv", period="2026-12", out=out), out, digest


def _left_beside(out: Path) -> list[str]:
    """Temporary files beside the master, once every writer process has ended."""
    for child in multiprocessing.active_children():
        child.join(timeout=60)
    return sorted(n for n in os.listdir(out.parent) if n.startswith(".~"))


def _periods(out: Path) -> list[str]:
    with Store.for_master(out) as store:
        return store.periods()


def test_a_master_that_cannot_be_written_records_no_period(synced, monkeypatch) -> None:
    opts, out, before = synced

    def full_disk(*args, **kwargs) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(M, "_render", full_disk)  # the forked writer inherits it
    with pytest.raises(OSError, match="No space left"):
        run_sync(opts)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == before
    assert _periods(out) == ["2026-11"] and _left_beside(out) == []


def test_a_history_that_cannot_be_saved_leaves_the_master_as_it_was(synced, monkeypatch):
    opts, out, before = synced

    def broken(*args, **kwargs) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Store, "save_period", broken)
    with pytest.raises(RuntimeError, match="went away"):
        run_sync(opts)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == before
    assert _left_beside(out) == []  # the master written beside was removed


class _Odd(Exception):
    """An error that cannot be rebuilt from its arguments (as some library errors)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code


def _raise_odd() -> None:
    raise _Odd(7, "странная ошибка")


def test_beside_returns_the_result_and_the_error_of_the_work() -> None:
    assert Beside(lambda: {"pid": os.getpid()}).result()["pid"] != os.getpid()
    with pytest.raises(ValueError, match="плохо"):
        Beside(lambda: (_ for _ in ()).throw(ValueError("плохо"))).result()
    with pytest.raises(RuntimeError, match="_Odd: странная ошибка"):
        Beside(_raise_odd).result()
    with pytest.raises(WorkerLost):
        Beside(lambda: os._exit(3)).result()


def test_long_lists_are_written_beside_the_master_by_the_forked_writer(synced, monkeypatch):
    """A city's lists go to CSV files, each written in a process of its own from within the
    master's writer (a process that starts processes)."""
    opts, out, _ = synced
    monkeypatch.setattr(M, "MASTER_ROW_LIMIT", 5)
    run_sync(dataclasses.replace(opts, period="2026-11"))  # the same month again
    lists = sorted(p.name for p in out.parent.glob("*.csv"))
    assert f"свод.{M.SHEET_PARTICIPANTS}.csv" in lists and f"свод.{M.SHEET_PAIRS}.csv" in lists
    for name in lists:
        assert (out.parent / name).read_text(encoding="utf-8-sig").count("\n") > 5, name
    assert _left_beside(out) == [] and _periods(out) == ["2026-11"]
