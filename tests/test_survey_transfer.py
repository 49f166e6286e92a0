"""Survey answers written into «Мониторинг» of a copy of the book (addin.xlsx.monitoring), read
back by the engine and by openpyxl: rows appended or replaced, extra columns by header name,
the VBA project and the user's columns kept, hostile comments left as text."""

from __future__ import annotations

import random
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from addin.model import SchoolWorkbook
from addin.validate import validate_workbook
from addin.web.survey_book import headers
from addin.xlsx.annotate import AnnotatedCopyError
from addin.xlsx.monitoring import SurveyRow, write_monitoring
from addin.xlsx.package import Package
from tests.hostile_corpus import JUNK
from tests.old_books import downgrade
from workbook_templates import contract as C
from workbook_templates import surveys as S
from workbook_templates.build import write_school_workbook
from workbook_templates.demo import make_school
from workbook_templates.xlsm import build_school_xlsm

YEAR = date(2026, 9, 1)
#: Every string of the injection corpus (tests/hostile_corpus.py, «markup» junk).
INJECTIONS = sorted({JUNK["markup"](r, 0) for r in range(7)})
EXTRA_HEADERS = {k: S.BY_KEY[k].header for k in S.EXTRA_KEYS}


@pytest.fixture(scope="module")
def clean_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A book without survey rows, written once for the module."""
    return school_book(tmp_path_factory.mktemp("transfer") / "clean.xlsx")


def school_book(path: Path, monitoring: list[dict] | None = None) -> Path:
    data = make_school("ОО-001", random.Random(7), n_participants=16, period="2026-12")
    data["monitoring"] = monitoring or []
    return write_school_workbook(path, data)


def copy_of(book: Path, path: Path) -> Path:
    shutil.copyfile(book, path)
    return path


def answer(pid: str, role: str, score: int, wave: str = S.DECEMBER, comment: str | None = None,
           day: date = date(2026, 12, 7), **extra: object) -> SurveyRow:
    return SurveyRow(pid, role, wave, day, {"satisfaction": score, "comment": comment, **extra})


def monitoring_rows(path: Path) -> list[dict]:
    wb = SchoolWorkbook.from_path(path)
    return wb.table("monitoring").drop(columns=["_school", "_row"]).to_dict("records")


def test_answers_are_appended_and_read_back_by_the_engine(tmp_path: Path, clean_book: Path) -> None:
    src = copy_of(clean_book, tmp_path / "school.xlsx")
    rows = [answer("Н-001", S.MENTOR, 9, comment="Всё хорошо"), answer("У-001", S.MENTEE, 6)]
    out = tmp_path / "out.xlsx"
    done = write_monitoring(src, out, rows, headers(), YEAR)
    assert (done.appended, done.replaced) == (2, 0)
    assert done.missing_keys == ()  # only 1.0 keys were given
    got = monitoring_rows(out)
    assert [(r["participant_id"], r["role"], r["wave"], r["satisfaction"], r["comment"])
            for r in got] == [("Н-001", S.MENTOR, S.DECEMBER, 9, "Всё хорошо"),
                              ("У-001", S.MENTEE, S.DECEMBER, 6, None)]
    assert got[0]["survey_date"].date() == date(2026, 12, 7)
    report = validate_workbook(SchoolWorkbook.from_path(out))
    assert report.errors == 0, [f.message_ru for f in report.findings][:5]
    ws = load_workbook(out)[C.MONITORING.name]
    assert ws["D2"].number_format == "DD.MM.YYYY"  # a date cell, shown as a date


def test_an_earlier_row_of_the_same_wave_and_year_is_replaced(tmp_path: Path) -> None:
    earlier = [
        {"participant_id": "У-001", "role": S.MENTEE, "wave": S.DECEMBER,
         "survey_date": date(2026, 12, 1), "satisfaction": 3, "comment": "старый"},
        {"participant_id": "У-001", "role": S.MENTEE, "wave": S.MAY,
         "survey_date": date(2026, 5, 15), "satisfaction": 4},
        {"participant_id": "У-002", "role": S.MENTEE, "wave": S.DECEMBER,
         "survey_date": date(2025, 12, 10), "satisfaction": 5},  # last school year: kept
    ]
    src = school_book(tmp_path / "school.xlsx", earlier)
    out = tmp_path / "out.xlsx"
    done = write_monitoring(src, out, [answer("У-001", S.MENTEE, 8),
                                       answer("У-002", S.MENTEE, 7)], headers(), YEAR)
    assert (done.appended, done.replaced) == (1, 1)
    got = [(r["participant_id"], r["wave"], r["survey_date"].date(), r["satisfaction"],
            r["comment"]) for r in monitoring_rows(out)]
    assert got == [("У-001", S.DECEMBER, date(2026, 12, 7), 8, None),  # in place, no comment
                   ("У-001", S.MAY, date(2026, 5, 15), 4, None),
                   ("У-002", S.DECEMBER, date(2025, 12, 10), 5, None),
                   ("У-002", S.DECEMBER, date(2026, 12, 7), 7, None)]
    # transferring again changes nothing more: the same rows are replaced, none is added
    again = tmp_path / "again.xlsx"
    done = write_monitoring(out, again, [answer("У-001", S.MENTEE, 8),
                                         answer("У-002", S.MENTEE, 7)], headers(), YEAR)
    assert (done.appended, done.replaced) == (0, 2)
    assert len(monitoring_rows(again)) == 4


def test_extra_answers_go_into_their_columns_when_the_book_has_them(
        tmp_path: Path, clean_book: Path) -> None:
    """Template 1.1 appends the four columns after «Комментарий»; here a curator's own column
    is inserted before them, to show that columns are found by header, not position."""
    src = copy_of(clean_book, tmp_path / "school.xlsx")
    wb = load_workbook(src)
    ws = wb[C.MONITORING.name]
    assert [ws.cell(row=1, column=j).value for j in range(7, 11)] == list(EXTRA_HEADERS.values())
    ws.insert_cols(7)
    ws.cell(row=1, column=7, value="Заметка куратора")
    newer = tmp_path / "school-1.1.xlsx"
    wb.save(newer)
    extra = {"comfort": 4, "usefulness": 5, "meetings_held": "да", "wish_to_continue": "нет"}
    out = tmp_path / "out.xlsx"
    done = write_monitoring(newer, out, [answer("Н-002", S.MENTOR, 10, **extra)], headers(),
                            YEAR)
    assert set(done.written_keys) == set(S.EXTRA_KEYS) and done.missing_keys == ()
    ws = load_workbook(out)[C.MONITORING.name]
    assert [ws.cell(row=2, column=j).value for j in range(1, 12)] == [
        "Н-002", S.MENTOR, S.DECEMBER, ws["D2"].value, 10, None, None, 4, 5, "да", "нет"]
    # the 1.0 book has no such columns: the extra answers are reported as kept on the server
    plain = write_monitoring(downgrade(src, tmp_path / "school-1.0.xlsx"), tmp_path / "plain.xlsx",
                             [answer("Н-002", S.MENTOR, 10, **extra)], headers(), YEAR)
    assert set(plain.missing_keys) == set(S.EXTRA_KEYS) and plain.written_keys == ()


def test_hostile_comments_stay_text(tmp_path: Path, clean_book: Path) -> None:
    src = copy_of(clean_book, tmp_path / "school.xlsx")
    rows = [answer(f"У-{i:03d}", S.MENTEE, 5, comment=text)
            for i, text in enumerate(INJECTIONS, 1)]
    out = tmp_path / "out.xlsx"
    write_monitoring(src, out, rows, headers(), YEAR)
    with Package(out) as pkg:
        part = next(r.part for r in pkg.sheets() if r.name == C.MONITORING.name)
        xml = pkg.read(part).decode()
    assert xml.count('t="inlineStr"') >= len(INJECTIONS)
    assert "<f>" not in xml and "<f " not in xml
    ws = load_workbook(out)[C.MONITORING.name]
    comments = [ws.cell(row=r, column=6) for r in range(2, 2 + len(INJECTIONS))]
    assert [c.value for c in comments] == INJECTIONS
    assert all(c.data_type == "s" for c in comments)  # text, never a formula
    assert [r["comment"] for r in monitoring_rows(out)] == INJECTIONS


def test_the_vba_project_and_other_sheets_are_kept(tmp_path: Path) -> None:
    src = build_school_xlsm(tmp_path / "school.xlsm")
    out = tmp_path / "out.xlsm"
    write_monitoring(src, out, [answer("Н-001", S.MENTOR, 7)], headers(), YEAR)
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(out) as b:
        assert a.read("xl/vbaProject.bin") == b.read("xl/vbaProject.bin")
        changed = {n for n in a.namelist() if a.read(n) != b.read(n)}
    assert changed <= {"xl/styles.xml"} | {n for n in changed if n.startswith("xl/worksheets/")}
    assert len([n for n in changed if n.startswith("xl/worksheets/")]) == 1


def test_a_book_without_the_sheet_or_its_columns_gets_a_russian_reason(
        tmp_path: Path, clean_book: Path) -> None:
    src = copy_of(clean_book, tmp_path / "school.xlsx")
    wb = load_workbook(src)
    wb[C.MONITORING.name]["A1"] = "Номер"
    broken = tmp_path / "renamed.xlsx"
    wb.save(broken)
    with pytest.raises(AnnotatedCopyError, match="нет столбцов: «ID участника»"):
        write_monitoring(broken, tmp_path / "out.xlsx", [answer("Н-001", S.MENTOR, 7)],
                         headers(), YEAR)
    del wb[C.MONITORING.name]
    wb.save(broken)
    with pytest.raises(AnnotatedCopyError, match="нет листа «Мониторинг»"):
        write_monitoring(broken, tmp_path / "out.xlsx", [answer("Н-001", S.MENTOR, 7)],
                         headers(), YEAR)
