"""SchoolWorkbook reads what the builder wrote: through calamine and openpyxl alike, with
columns in any order, extra user columns kept, and a typed Russian error for bad files."""

from __future__ import annotations

import zipfile
from datetime import date, time

import pandas as pd
import pytest
from openpyxl import load_workbook

from addin import errors
from addin.model import SchoolWorkbook
from tests.sample import clean_school
from workbook_templates import contract as C
from workbook_templates.build import write_school_workbook


@pytest.fixture
def school_file(tmp_path):
    return write_school_workbook(tmp_path / "school.xlsx", clean_school())


def test_reads_back_every_value(school_file):
    data = clean_school()
    wb = SchoolWorkbook.from_path(school_file)
    assert wb.version == C.TEMPLATE_VERSION
    assert wb.school["code"] == "ОО-901" and wb.school["students_total"] == 500
    assert wb.reference_date == date(2026, 11, 30)
    for key in ("mentors", "mentees", "pairs", "meetings", "monitoring", "roadmap"):
        t = wb.tables[key]
        assert len(t) == len(data[key])
        for i, row in enumerate(data[key]):
            for col, value in row.items():
                got = t[col].iloc[i]
                if isinstance(value, date):
                    assert got == pd.Timestamp(value), (key, col)
                else:
                    assert got == value, (key, col)
        assert list(t["_row"]) == list(range(2, 2 + len(data[key])))


def test_calamine_and_openpyxl_agree(school_file):
    fast = SchoolWorkbook.from_path(school_file)
    slow = SchoolWorkbook.from_openpyxl(load_workbook(school_file), source=school_file.name)
    assert fast.school == slow.school
    for key in fast.tables:
        pd.testing.assert_frame_equal(fast.tables[key], slow.tables[key], check_dtype=False)


def test_reordered_and_extra_columns(tmp_path, school_file):
    book = load_workbook(school_file)
    ws = book[C.MENTORS.name]
    ws.move_range("A1:A10", cols=20)  # ID column moves to the far right
    ws.delete_cols(1)
    ws.cell(row=1, column=25, value="Заметки куратора")
    ws.cell(row=2, column=25, value="любит шахматы")
    out = tmp_path / "moved.xlsx"
    book.save(out)
    wb = SchoolWorkbook.from_path(out)
    mentors = wb.tables["mentors"]
    assert list(mentors["id"]) == ["Н-001", "Н-002", "Н-003"]
    assert wb.extra_columns["mentors"] == ["Заметки куратора"]
    assert mentors["Заметки куратора"].iloc[0] == "любит шахматы"
    assert not wb.missing_columns


def test_dates_from_serials_and_text(tmp_path):
    data = clean_school()
    data["mentees"][0]["birth_date"] = "05.05.2013"
    data["mentees"][1]["birth_date"] = 36651  # Excel serial of 05.05.2000
    wb = SchoolWorkbook.from_path(write_school_workbook(tmp_path / "d.xlsx", data))
    births = wb.tables["mentees"]["birth_date"]
    assert births.iloc[0] == pd.Timestamp(2013, 5, 5)
    assert births.iloc[1] == pd.Timestamp(2000, 5, 5)


def _expect(path, error_type, words):
    with pytest.raises(error_type) as info:
        SchoolWorkbook.from_path(path)
    assert isinstance(info.value, errors.WorkbookError)
    assert words in info.value.message_ru
    return info.value


def test_missing_file(tmp_path):
    _expect(tmp_path / "нет.xlsx", errors.WorkbookNotFoundError, "не найден")


def test_text_file_renamed(tmp_path):
    p = tmp_path / "school.xlsx"
    p.write_text("это не книга", encoding="utf-8")
    _expect(p, errors.NotAWorkbookError, "не является книгой")


def test_truncated_file(tmp_path, school_file):
    p = tmp_path / "cut.xlsx"
    p.write_bytes(school_file.read_bytes()[: school_file.stat().st_size // 2])
    _expect(p, errors.CorruptWorkbookError, "повреждён")


def test_word_document_renamed(tmp_path):
    p = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    _expect(p, errors.NotAWorkbookError, "документ Word")


def test_password_protected(tmp_path):
    # An encrypted OOXML file is an OLE2 container with an EncryptedPackage stream.
    p = tmp_path / "secret.xlsx"
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    p.write_bytes(ole + "EncryptedPackage".encode("utf-16-le") + b"\0" * 512)
    _expect(p, errors.PasswordProtectedError, "паролем")


def test_old_xls(tmp_path):
    p = tmp_path / "old.xlsx"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1024)
    _expect(p, errors.NotAWorkbookError, ".xls")


def test_unknown_version(tmp_path, school_file):
    book = load_workbook(school_file)
    ws = book[C.INSTRUCTIONS.name]
    for row in ws.iter_rows():
        if row[0].value == C.VERSION_LABEL:
            row[1].value = "7.5"
    out = tmp_path / "v.xlsx"
    book.save(out)
    err = _expect(out, errors.UnknownVersionError, "7.5")
    assert err.status_ru == "неизвестная версия шаблона"


def test_other_spreadsheet(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Бюджет"
    book.active["A1"] = "статья"
    p = tmp_path / "budget.xlsx"
    book.save(p)
    _expect(p, errors.NotOurWorkbookError, "нет ни одного листа")


def test_period_typed_as_a_date_cell(tmp_path):
    data = clean_school()
    data["school"]["period"] = date(2026, 11, 1)  # what Excel makes of a typed «2026-11»
    wb = SchoolWorkbook.from_path(write_school_workbook(tmp_path / "p.xlsx", data))
    assert wb.school["period"] == "2026-11"
    assert wb.reference_date == date(2026, 11, 30)


@pytest.mark.parametrize("far_cell", ["XFD1048576", "Z1048576", "DA2"])
def test_a_far_away_cell_is_refused_not_read(tmp_path, school_file, far_cell):
    book = load_workbook(school_file)
    book[C.MENTORS.name][far_cell] = "x"
    p = tmp_path / "far.xlsx"
    book.save(p)
    _expect(p, errors.WorkbookTooLargeError, "слишком много строк или столбцов")


def test_extra_columns_up_to_the_limit_still_read(tmp_path, school_file):
    book = load_workbook(school_file)
    book[C.MENTORS.name]["CV1"] = "Заметки"
    p = tmp_path / "wide.xlsx"
    book.save(p)
    assert "Заметки" in SchoolWorkbook.from_path(p).extra_columns["mentors"]


def test_a_time_typed_in_a_text_column_reads_as_a_time(tmp_path):
    """Excel turns «15:00» typed into a cell into a time; a text column keeps it as typed,
    not as the date 31.12.1899 a reader gives a time of day."""
    data = clean_school()
    path = write_school_workbook(tmp_path / "t.xlsx", data)
    book = load_workbook(path)
    first = C.HEADER_ROW + 1

    def cell(sheet: C.Sheet, key: str, row: int):
        return book[sheet.name].cell(row=row, column=[c.key for c in sheet.columns].index(key) + 1)

    cell(C.ROADMAP, "deadline_text", first).value = time(15, 0)  # among text: mixed cells
    for row in range(first, first + len(data["meetings"])):  # a column of times only
        cell(C.MEETINGS, "feedback", row).value = time(9, 30, 15)
    book.save(path)
    for wb in (SchoolWorkbook.from_path(path),
               SchoolWorkbook.from_openpyxl(load_workbook(path), source=path.name)):
        roadmap = wb.tables["roadmap"]["deadline_text"]
        assert list(roadmap[:2]) == ["15:00", data["roadmap"][1]["deadline_text"]]
        assert set(wb.tables["meetings"]["feedback"]) == {"09:30:15"}
