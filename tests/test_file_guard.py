"""The file guard (addin/file_guard.py) on real files: what it refuses, how it names the place,
and what it must let through (LibreOffice's trailing empty rows, cells up to the limits)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from addin import errors
from addin.file_guard import MAX_ROWS, check_file
from addin.model import SchoolWorkbook
from addin.report import shorten
from tests.hostile_corpus import ods_bytes, read_values
from tests.sample import clean_school
from workbook_templates import contract as C
from workbook_templates.build import write_school_workbook


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_school_workbook(tmp_path_factory.mktemp("guard") / "school.xlsx",
                                 clean_school())


def _refused(path: Path, kind: type[errors.WorkbookError]) -> str:
    with pytest.raises(kind) as info:
        check_file(path)
    return " ".join(info.value.message_ru.split())


def _rewrite(src: Path, out: Path, change: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change.get(info.filename, zin.read(info.filename)))
    return out


def _sheet_member(path: Path, sheet: str) -> str:
    book = load_workbook(path, read_only=True)
    return f"xl/worksheets/sheet{book.sheetnames.index(sheet) + 1}.xml"


def test_a_far_cell_is_named_by_its_sheet_and_cell(school, tmp_path) -> None:
    book = load_workbook(school)
    book[C.MEETINGS.name]["XFD1048576"] = "x"
    book.save(tmp_path / "far.xlsx")
    text = _refused(tmp_path / "far.xlsx", errors.WorkbookTooLargeError)
    assert f"лист «{C.MEETINGS.name}», ячейка XFD1048576" in text


def test_namespaced_cells_are_scanned_too(school, tmp_path) -> None:
    member = _sheet_member(school, C.MENTORS.name)
    with zipfile.ZipFile(school) as zf:
        xml = zf.read(member)
    far = b'<x:row r="200000"><x:c r="B200000" t="inlineStr"><x:is><x:t>1</x:t></x:is></x:c>' \
          b"</x:row></sheetData>"
    p = _rewrite(school, tmp_path / "ns.xlsx", {member: xml.replace(b"</sheetData>", far)})
    assert "ячейка B200000" in _refused(p, errors.WorkbookTooLargeError)


def test_cells_up_to_the_limits_are_read(school, tmp_path) -> None:
    book = load_workbook(school)
    book[C.MENTORS.name]["CV2"] = "заметка"
    book[C.MENTORS.name][f"A{MAX_ROWS}"] = "Н-999"
    book.save(tmp_path / "edge.xlsx")
    check_file(tmp_path / "edge.xlsx")


def test_sheets_that_together_pass_the_grid_budget_are_refused(school, tmp_path) -> None:
    """Each sheet within the limits, together too many cells: the widest corner is named."""
    book = load_workbook(school)
    book[C.MENTORS.name][f"CV{MAX_ROWS}"] = "x"
    book[C.MENTEES.name][f"CU{MAX_ROWS}"] = "x"
    book.save(tmp_path / "grid.xlsx")
    text = _refused(tmp_path / "grid.xlsx", errors.WorkbookTooLargeError)
    assert f"лист «{C.MENTORS.name}», ячейка CV{MAX_ROWS}" in text


def test_a_bad_crc_in_any_member_is_a_damaged_file(school, tmp_path) -> None:
    payload = bytearray(school.read_bytes())
    with zipfile.ZipFile(school) as zf:
        info = zf.getinfo("xl/styles.xml")  # a member no check reads for data
    at = payload.find(b"PK\x01\x02")
    while payload[at + 46:at + 46 + len(info.filename)] != info.filename.encode():
        at = payload.find(b"PK\x01\x02", at + 46)
    payload[at + 16] ^= 0xFF
    p = tmp_path / "crc.xlsx"
    p.write_bytes(bytes(payload))
    assert "повреждён" in _refused(p, errors.CorruptWorkbookError)


def test_ods_repeated_filled_row_is_refused_with_the_sheet(school, tmp_path) -> None:
    values = read_values(school.read_bytes())
    p = tmp_path / "rep.ods"
    p.write_bytes(ods_bytes(values, row_attrs={
        (C.MENTORS.name, 1): ' table:number-rows-repeated="1000000"'}))
    text = _refused(p, errors.WorkbookTooLargeError)
    assert f"«{C.MENTORS.name}» строка 2 повторена 1000000 раз" in text


def test_ods_with_trailing_empty_repeats_is_read(school, tmp_path) -> None:
    values = read_values(school.read_bytes())
    p = tmp_path / "ok.ods"
    p.write_bytes(ods_bytes(values))  # a million empty rows and 16,000 empty columns
    wb = SchoolWorkbook.from_path(p)
    assert wb.row_counts() == SchoolWorkbook.from_path(school).row_counts()


def test_ods_within_the_limits_repeats_are_read(school, tmp_path) -> None:
    values = read_values(school.read_bytes())
    p = tmp_path / "some.ods"
    p.write_bytes(ods_bytes(values, row_attrs={
        (C.MENTORS.name, 1): ' table:number-rows-repeated="50"'}))
    mentors = SchoolWorkbook.from_path(p).row_counts()["mentors"]
    assert mentors == SchoolWorkbook.from_path(school).row_counts()["mentors"] + 49


def test_a_workbook_under_another_extension_is_named(school, tmp_path) -> None:
    p = tmp_path / "книга.ods"
    p.write_bytes(school.read_bytes())
    assert "расширение .ods" in _refused(p, errors.NotAWorkbookError)


def test_zip_without_members_of_a_workbook(tmp_path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "текст")
    p = tmp_path / "z.xlsx"
    p.write_bytes(buf.getvalue())
    _refused(p, errors.NotAWorkbookError)


@pytest.mark.parametrize("value, shown", [
    (None, ""),
    ("Н-001", "Н-001"),
    (12.5, "12.5"),
    ("Ж" * 40_000, "Ж" * 199 + "…"),
    ("a\x01b\nc\x1b[31m", "a\ufffdb c\ufffd[31m"),
])
def test_shorten(value, shown) -> None:
    assert shorten(value) == shown
    assert len(shorten("x" * 500, 50)) == 50
