"""The copy with «Предложения пар» (`nastavnik suggest-pairs --out`, the page's download), made
by editing the package: the sheet lands after «Пары и группы» with the suggestions, their dates
and the plan; everything else of the book is left byte for byte; LibreOffice opens it."""

from __future__ import annotations

import json
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from addin.model import SchoolWorkbook
from addin.xlsx.suggestions import HOW_TO_MARK, PLAN_HEADER, REASON_HEADER, SHEET_NAME
from tests.cli import run
from tests.xlsx_marks import assert_macros_kept, package_parts
from workbook_templates import contract as C
from workbook_templates.demo import generate_municipality, write_municipality
from workbook_templates.xlsm import build_school_xlsm

DATE_COLUMNS = [c.header for c in C.PAIRS.columns if c.type is C.ColType.DATE]


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    demo = write_municipality(generate_municipality(n_schools=8), tmp_path_factory.mktemp("demo"))
    return demo / "schools" / "ОО-002.xlsx"


@pytest.fixture(scope="module")
def expected(book) -> dict:
    proc = run("suggest-pairs", book, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["suggestions"], "the demo school has mentees to pair"
    return data


def _copy(book: Path, out: Path) -> Path:
    proc = run("suggest-pairs", book, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "Копия с листом «Предложения пар»" in proc.stderr
    return out



def _rows(ws) -> list[dict]:  # noqa: ANN001 (an openpyxl worksheet)
    header = [c.value for c in ws[1]]
    return [dict(zip(header, r, strict=False))
            for r in ws.iter_rows(min_row=2, values_only=True) if r[0]]


def _check_sheet(wb, expected: dict) -> None:  # noqa: ANN001 (an openpyxl workbook)
    names = wb.sheetnames
    assert names.count(SHEET_NAME) == 1
    assert names.index(SHEET_NAME) == names.index(C.PAIRS.name) + 1
    ws = wb[SHEET_NAME]
    header = [c.value for c in ws[1]]
    assert header[:len(C.PAIRS.columns)] == [c.header for c in C.PAIRS.columns]
    assert REASON_HEADER in header and PLAN_HEADER in header
    rows = _rows(ws)
    assert [r[C.PAIRS.columns[0].header] for r in rows] == \
        [s["pair_id"] for s in expected["suggestions"]]
    for row, s in zip(rows, expected["suggestions"], strict=True):
        assert row[REASON_HEADER] == s["reason_ru"]
        for name in DATE_COLUMNS:  # real dates (a curator copies them into the pairs sheet)
            if row[name] is not None:
                assert row[name].date() == date.fromisoformat(s["start_date"])
    plan = [r[header.index(PLAN_HEADER)] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert plan[0] == expected["summary_ru"]
    note = ws["A1"].comment.text
    assert note.count(HOW_TO_MARK) == 1 and "«Пары и группы»" in note


def test_copy_adds_the_sheet_after_pairs_and_leaves_the_rest(book, expected, tmp_path):
    out = _copy(book, tmp_path / "предложения.xlsx")
    wb = load_workbook(out)
    _check_sheet(wb, expected)
    before, after = package_parts(book), package_parts(out)
    assert set(before) <= set(after)
    changed = {n for n in before if before[n] != after[n]}
    assert changed <= {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                       "[Content_Types].xml"}
    for name in before:
        if name.startswith("xl/worksheets/sheet"):
            assert after[name] == before[name], name
    # a sheet-local name (a filter) still belongs to its own sheet after the insertion
    local = re.findall(r'localSheetId="(\d+)"[^>]*>([^<]+)<', after["xl/workbook.xml"].decode())
    assert local
    for index, formula in local:
        assert formula.startswith(f"'{wb.sheetnames[int(index)]}'!"), (index, formula)
    assert SHEET_NAME not in load_workbook(book, read_only=True).sheetnames


def test_a_copy_of_a_copy_refills_its_sheet(book, expected, tmp_path):
    first = _copy(book, tmp_path / "первая.xlsx")
    second = _copy(first, tmp_path / "вторая.xlsx")
    wb = load_workbook(second)
    _check_sheet(wb, expected)
    assert wb.sheetnames == load_workbook(first).sheetnames


def test_macros_are_kept_in_an_xlsm_copy(tmp_path):
    src = build_school_xlsm(tmp_path / "школа.xlsm")
    out = _copy(src, tmp_path / "копия.xlsm")
    assert_macros_kept(src, out)
    wb = load_workbook(out, keep_vba=True)
    assert wb.sheetnames.index(SHEET_NAME) == wb.sheetnames.index(C.PAIRS.name) + 1
    assert wb[SHEET_NAME]["A2"].value is None  # an empty template: nobody to pair
    assert wb[SHEET_NAME][f"{_plan_column(wb[SHEET_NAME])}2"].value  # the plan's summary


def _plan_column(ws) -> str:  # noqa: ANN001
    return next(c.column_letter for c in ws[1] if c.value == PLAN_HEADER)


def test_dates_follow_a_1904_book(book, expected, tmp_path):
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb = load_workbook(book)
    wb.epoch = CALENDAR_MAC_1904
    mac = tmp_path / "мак.xlsx"
    wb.save(mac)
    assert b'date1904="1"' in package_parts(mac)["xl/workbook.xml"]
    out = _copy(mac, tmp_path / "копия.xlsx")
    _check_sheet(load_workbook(out), expected)


@pytest.mark.libreoffice
def test_libreoffice_opens_the_copy(book, expected, tmp_path, soffice):
    out = _copy(book, tmp_path / "предложения.xlsx")
    saved = soffice(out, "xlsx")
    wb = load_workbook(saved)
    _check_sheet(wb, expected)
    assert wb[C.PAIRS.name].data_validations.dataValidation
    assert wb[C.DICTIONARY_SHEET.name].sheet_state == "hidden"
    # the book is still a school workbook the check reads like the original
    assert len(SchoolWorkbook.from_path(saved).tables["pairs"]) == \
        len(SchoolWorkbook.from_path(book).tables["pairs"])


def _without_styles(src: Path, out: Path) -> Path:
    """The book as some generators write it: no styles.xml, no style indices on cells."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as b:
        for item in a.infolist():
            data = a.read(item)
            if item.filename == "xl/styles.xml":
                continue
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = re.sub(rb'<Relationship [^>]*/styles"[^>]*/>', b"", data)
            elif item.filename == "[Content_Types].xml":
                data = re.sub(rb'<Override [^>]*styles\+xml"/>', b"", data)
            elif item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb' (?:s|style)="\d+"', b"", data)
            b.writestr(item, data)
    return out


@pytest.mark.libreoffice
def test_a_book_without_a_style_sheet_gets_both_copies(book, expected, tmp_path, soffice):
    bare = _without_styles(book, tmp_path / "без-стилей.xlsx")
    assert "xl/styles.xml" not in package_parts(bare)
    copy = _copy(bare, tmp_path / "предложения.xlsx")
    annotated = tmp_path / "проверка.xlsx"
    proc = run("validate", bare, "--annotate", annotated)
    assert "Traceback" not in proc.stderr and annotated.exists(), proc.stderr
    for out in (copy, annotated):
        assert "xl/styles.xml" in package_parts(out)
        load_workbook(out)  # Excel's reader (openpyxl here) takes the new style sheet
    wb = load_workbook(soffice(copy, "xlsx"))
    assert [r[0] for r in wb[SHEET_NAME].iter_rows(min_row=2, values_only=True) if r[0]] == \
        [s["pair_id"] for s in expected["suggestions"]]


def test_a_package_the_copy_cannot_edit_is_a_russian_refusal(book, tmp_path):
    """The book reads (the check needs only its sheets), but its package cannot be edited:
    a Russian reason and exit 2, never «внутренняя ошибка», and no copy left behind."""
    src = tmp_path / "школа.xlsx"
    with zipfile.ZipFile(book) as zin, zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            broken = item.filename == "[Content_Types].xml"
            zout.writestr(item, b"<Types" if broken else zin.read(item))
    out = tmp_path / "копия.xlsx"
    proc = run("suggest-pairs", src, "--out", out)
    said = " ".join(proc.stderr.split())
    assert proc.returncode == 2, said
    assert "повреждена" in said and "Внутренняя ошибка" not in said
    assert not out.exists() and "Traceback" not in proc.stdout + proc.stderr
