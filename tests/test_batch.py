"""One implementation for one school and for many: a batch of schools gives exactly the
findings, indicators and municipal rows that checking each school alone gives.

This is the regression net of the columnar pass: the same books are checked alone (the
button, the page, `validate`) and together (the sync), and every figure must agree.
"""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from addin.indicators import batch_indicators, compute_indicators
from addin.model import SchoolWorkbook, WorkbookBatch, load_sheets
from addin.validate import validate_batch, validate_workbook
from sync.consolidate import judge_batch
from sync.sources.folder import FolderSource
from sync.sources.registry import read_registry
from sync.store import ITEM_SEPARATOR
from tests.sample import clean_school
from workbook_templates import contract as C
from workbook_templates.build import write_school_workbook
from workbook_templates.demo import generate_municipality, make_school, write_municipality

REF = date(2026, 11, 30)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The demo municipality's readable books, the hand-made sample with its variants (a
    missing sheet, a missing column, extra and reordered columns, text dates and serials)
    and generated schools of another seed: IDs repeat across schools on purpose."""
    tmp = tmp_path_factory.mktemp("batch")
    root = write_municipality(generate_municipality(), tmp / "demo")
    paths = sorted((root / "schools").glob("*.xls*"))
    sample = clean_school()
    paths.append(write_school_workbook(tmp / "sample.xlsx", sample))
    odd = clean_school()
    odd["school"]["code"] = "ОО-902"
    odd["mentees"][0]["birth_date"] = "05.05.2013"
    odd["mentees"][1]["birth_date"] = 36651
    odd["pairs"][0]["mentor_id"] = "Н-010"  # a mentor of other schools, not of this one
    paths.append(write_school_workbook(tmp / "odd.xlsx", odd))
    book = load_workbook(paths[-1])
    book.remove(book[C.MONITORING.name])
    ws = book[C.MENTORS.name]
    ws.delete_cols(1)  # no ID column: the rules that need it stay silent for this school only
    ws.cell(row=1, column=20, value="Заметки куратора")
    ws.cell(row=2, column=20, value="любит шахматы")
    book.save(tmp / "broken.xlsx")
    paths.append(tmp / "broken.xlsx")
    rng = random.Random(11)
    for i in range(3):
        paths.append(write_school_workbook(tmp / f"gen{i}.xlsx",
                                           make_school(f"ОО-95{i}", rng, n_participants=60)))
    readable = []
    for p in paths:
        try:
            load_sheets(p)
        except Exception:  # the demo's corrupt and unknown-version files
            continue
        readable.append(p)
    return readable


@pytest.fixture(scope="module")
def batch(books: list[Path]) -> WorkbookBatch:
    return WorkbookBatch.of([(p.name, load_sheets(p)) for p in books])


def test_the_net_is_wide(books: list[Path], batch: WorkbookBatch) -> None:
    assert len(books) >= 15
    reports = validate_batch(batch, REF)
    assert sum(len(r.findings) for r in reports) > 50  # the demo's planted mistakes
    assert any(r.errors == 0 for r in reports)
    codes = {f.code for r in reports for f in r.findings}
    assert {"SHEET-001", "SHEET-002", "PAIR-001"} <= codes
    # an ID known in other schools is still unknown in its own: joins go on (school, ID)
    assert "Н-010" in set(batch.tables["mentors"]["id"])
    odd = next(r for r in reports if r.source == "odd.xlsx")
    assert any(f.code == "PAIR-001" and f.value == "Н-010" for f in odd.findings)


def test_findings_of_a_batch_are_those_of_each_school_alone(books, batch) -> None:
    together = validate_batch(batch, REF)
    for path, report in zip(books, together, strict=True):
        alone = validate_workbook(SchoolWorkbook.from_path(path), REF)
        assert [f.to_dict() for f in report.findings] == [f.to_dict() for f in alone.findings], \
            path.name
        assert (report.school_code, report.version) == (alone.school_code, alone.version)


def test_indicators_of_a_batch_are_those_of_each_school_alone(books, batch) -> None:
    together = batch_indicators(batch, REF)
    for path, values in zip(books, together, strict=True):
        assert values == compute_indicators(SchoolWorkbook.from_path(path), REF), path.name


def test_tables_of_a_batch_cut_back_are_each_school_alone(books, batch) -> None:
    for i, path in enumerate(books):
        alone, cut = SchoolWorkbook.from_path(path), batch.school_workbook(i)
        assert cut.school == alone.school and cut.missing_columns == alone.missing_columns
        for key in alone.tables:
            pd.testing.assert_frame_equal(cut.tables[key], alone.tables[key],
                                          check_dtype=False, obj=f"{path.name} {key}")


def test_sync_rows_of_a_batch_are_those_of_each_school_alone(books, tmp_path) -> None:
    registry = tmp_path / "registry.csv"
    lines = ["код ОО;наименование;тип;источник"]
    for i, p in enumerate(books):  # the broken copy shares its code: one gets rejected
        code = SchoolWorkbook.from_path(p).school_code or p.stem
        lines.append(f"{code if p.stem != 'broken' else f'ОО-99{i}'};{p.stem};ОО;{p}")
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = FolderSource(Path("/"))
    fetched = [source.fetch(e) for e in read_registry(registry)]
    together = judge_batch(fetched, REF, None, "2026-11")
    for f, result in zip(fetched, together.schools, strict=True):
        alone = judge_batch([f], REF, None, "2026-11")
        assert (result.status, result.reason, result.counts) == (
            alone.schools[0].status, alone.schools[0].reason, alone.schools[0].counts), f.source
        assert result.indicators == alone.schools[0].indicators
        assert_rows_are_each_school_alone(together, alone, f.entry.code)


def assert_rows_are_each_school_alone(together, alone, code: str) -> None:
    """A school's rows of the municipal tables, cut out of a batch, are its rows alone."""
    for key, rows in alone.rows.items():
        assert len(rows), f"{code} {key}: no rows to compare"
        cut = together.rows[key]
        cut = cut[cut["school_code"] == code].reset_index(drop=True)
        pd.testing.assert_frame_equal(cut, rows, check_dtype=False, obj=f"{code} {key}")


# ----------------------------------------------------------------------- incremental re-sync
def _values(path: Path) -> dict[str, list]:
    """Every sheet's cell values, except the collection log (it records when files were read)."""
    book = load_workbook(path, read_only=True)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)]
            for ws in book.worksheets if ws.title != "Журнал сбора"}


def test_a_resync_rereads_only_changed_files_and_equals_a_full_sync(tmp_path) -> None:
    from tests.cli import run

    root = write_municipality(generate_municipality(), tmp_path / "demo")
    registry = root / "registry.csv"
    first = run("sync", "--registry", registry, "--period", "2026-11",
                "--out", tmp_path / "свод.xlsx")
    assert first.returncode in (0, 1) and "не перечитывались" not in first.stdout
    changed = sorted((root / "schools").glob("*.xlsx"))[:2]
    for path in changed:  # a school resubmits: a note, and the last mentee is gone
        book = load_workbook(path)
        book[C.SCHOOL.name]["D1"] = "исправлено"
        mentees = book[C.MENTEES.name]
        mentees.delete_rows(mentees.max_row)
        book.save(path)
    again = run("sync", "--registry", registry, "--period", "2026-11",
                "--out", tmp_path / "свод.xlsx")
    readable = len(list((root / "schools").glob("*.xls*")))
    assert f"(не перечитывались): {readable - 2} из" in again.stdout, again.stdout + again.stderr
    full = run("sync", "--registry", registry, "--period", "2026-11",
               "--out", tmp_path / "полный.xlsx", "--db", f"sqlite:///{tmp_path / 'f.db'}")
    assert "не перечитывались" not in full.stdout
    assert again.returncode == full.returncode
    assert _values(tmp_path / "свод.xlsx") == _values(tmp_path / "полный.xlsx")
    # the history remembers every school's items as a full sync does
    assert _items(tmp_path / "свод.history.sqlite") == _items(tmp_path / "f.db")
    # the same master with another history: nothing is in it yet, so everything is written
    other = run("sync", "--registry", registry, "--period", "2026-11",
                "--out", tmp_path / "свод.xlsx", "--db", f"sqlite:///{tmp_path / 'o.db'}")
    assert f"(не перечитывались): {readable} из" in other.stdout, other.stdout + other.stderr
    assert _items(tmp_path / "o.db") == _items(tmp_path / "f.db")


def _items(db: Path) -> list[tuple]:
    """The people and pairs a history remembers of the period, school by school."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT school_code, kind, items FROM snapshots "
                            "WHERE period = '2026-11' ORDER BY 1, 2").fetchall()
    assert rows
    return [(code, kind, i) for code, kind, items in rows for i in items.split(ITEM_SEPARATOR)]


def test_a_sync_judges_each_book_at_its_own_date_within_the_period(tmp_path) -> None:
    """«Дата, на которую даны сведения» counts when it lies in the period: a pair that starts
    after it needs no agreement yet; a date outside the period, or a date given to the run,
    gives way to the period's end."""
    def book(code: str, own: date | None) -> Path:
        data = clean_school()
        data["school"].update(code=code, reference_date=own)
        data["pairs"][2].update(start_date=date(2026, 11, 20), agreement_date=None)
        return write_school_workbook(tmp_path / f"{code}.xlsx", data)

    paths = [book("ОО-901", date(2026, 11, 10)), book("ОО-902", None),
             book("ОО-903", date(2026, 10, 10))]
    registry = tmp_path / "registry.csv"
    registry.write_text("код ОО;наименование;тип;источник\n" + "".join(
        f"{p.stem};{p.stem};ОО;{p.name}\n" for p in paths), encoding="utf-8")
    source = FolderSource(tmp_path)
    fetched = [source.fetch(e) for e in read_registry(registry)]

    def agreements(results) -> list[bool]:
        return [any(f.code == "PAIR-009" for f in r.report.findings) for r in results]

    own = judge_batch(fetched, REF, None, "2026-11", own_dates=True)
    assert agreements(own.schools) == [False, True, True]
    assert own.schools[0].report.reference_date == date(2026, 11, 10)
    assert agreements(judge_batch(fetched, REF, None, "2026-11").schools) == [True, True, True]
    # judged in two batches (two dates), the rows still come school by school, in order
    codes = [f.entry.code for f in fetched]
    order = own.rows["participants"]["school_code"].drop_duplicates().tolist()
    assert order == codes
    for f in fetched:
        assert_rows_are_each_school_alone(own, judge_batch([f], REF, None, "2026-11",
                                                           own_dates=True), f.entry.code)


def test_the_history_keeps_no_names_and_the_results_file_sits_beside_the_master(tmp_path):
    """Results for a re-sync hold what the master holds (names among it): they stay in a
    file beside the master, never in the history store (nor a regional database)."""
    import sqlite3

    from tests.cli import run

    muni = generate_municipality()
    root = write_municipality(muni, tmp_path / "demo")
    run("sync", "--registry", root / "registry.csv", "--period", "2026-11",
        "--out", tmp_path / "свод.xlsx")
    assert (tmp_path / "свод.results-2026-11.zip").is_file()
    names = {p["full_name"] for s in muni.schools for key in ("mentors", "mentees")
             for p in s.data.get(key, []) if p.get("full_name")}
    assert names
    db = sqlite3.connect(tmp_path / "свод.history.sqlite")
    stored = []
    for (table,) in db.execute("select name from sqlite_master where type='table'"):
        for row in db.execute(f'select * from "{table}"'):
            stored += [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                       for v in row if v is not None]
    assert not [v for v in stored if any(n in v for n in names)]
