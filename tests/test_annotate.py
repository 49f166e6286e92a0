"""The annotated copy, made by editing the package: what it adds, and everything it leaves alone."""

from __future__ import annotations

import re
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.datavalidation import DataValidation

from addin.indicators import compute_indicators
from addin.model import SchoolWorkbook
from addin.report import Report
from addin.rules.base import Finding, Severity
from addin.validate import validate_path
from addin.xlsx.annotate import (
    CF_FORMULA,
    VALUE_LIMIT,
    AnnotatedCopyError,
    write_annotated,
    write_indicators_copy,
)
from addin.xlsx.comments import MARK
from tests.cli import run
from tests.sample import clean_school
from tests.xlsx_marks import assert_macros_kept, highlight_of, highlighted, package_parts
from workbook_templates import contract as C
from workbook_templates.build import write_school_workbook
from workbook_templates.xlsm import build_school_xlsm

USER_SHEET = "Мои заметки"
USER_COLUMN = "Моя пометка"
RED = "FFFFC7CE"


def _bad_data() -> dict:
    data = clean_school()
    data["pairs"][0]["mentor_id"] = "Н-099"  # PAIR-001 on row 2
    data["mentees"][1]["consent_date"] = None  # CONSENT-001 on row 3 (an empty cell)
    data["mentors"][0]["birth_date"] = "31.02.1985"  # CELL-002 on row 2
    return data


@pytest.fixture
def bad_book(tmp_path):
    """A school book with mistakes and a user's own sheet, column, fill and validation."""
    path = write_school_workbook(tmp_path / "bad.xlsx", _bad_data())
    wb = load_workbook(path)
    notes = wb.create_sheet(USER_SHEET)
    notes["A1"] = "позвонить в управление"
    ws = wb[C.MENTORS.name]
    column = ws.max_column + 1
    ws.cell(row=1, column=column, value=USER_COLUMN)
    ws.cell(row=2, column=column, value="проверить справку")
    dv = DataValidation(type="whole", operator="between", formula1="1", formula2="5")
    dv.add(f"{ws.cell(row=2, column=column).column_letter}2:"
           f"{ws.cell(row=2, column=column).column_letter}50")
    ws.add_data_validation(dv)
    wb.save(path)
    return path



def _sheet_part(path, name: str) -> str:
    wb = load_workbook(path, read_only=True)
    index = wb.sheetnames.index(name)
    wb.close()
    with zipfile.ZipFile(path) as z:
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        book = z.read("xl/workbook.xml").decode()
    rid = re.findall(r'<(?:\w+:)?sheet [^>]*?r:id="(\w+)"', book)[index]
    target = re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="{rid}"', rels)
    return "xl/" + (target.group(1) or target.group(2)).lstrip("/").removeprefix("xl/")


def _cells(xml: bytes) -> bytes:
    return xml[xml.index(b"<sheetData"):xml.rindex(b"</sheetData>")]


def _our_notes(ws) -> dict[str, str]:
    return {c.coordinate: c.comment.text for row in ws.iter_rows() for c in row
            if c.comment is not None and MARK in c.comment.text}


def _check_rows(path) -> list[tuple]:
    ws = load_workbook(path)[C.CHECK.name]
    return list(ws.iter_rows(min_row=C.FIRST_DATA_ROW, values_only=True))


def test_copy_lists_links_highlights_and_notes(bad_book, tmp_path):
    report = validate_path(bad_book)
    out = write_annotated(bad_book, tmp_path / "out.xlsx", report)
    wb = load_workbook(out)
    ws = wb[C.CHECK.name]
    assert [c.value for c in ws[1]] == [c.header for c in C.CHECK.columns]
    rows = list(ws.iter_rows(min_row=2))
    assert [r[1].value for r in rows] == [f.code for f in report.findings]
    by_code = {r[1].value: r for r in rows}
    assert by_code["PAIR-001"][0].hyperlink.location == f"'{C.PAIRS.name}'!C2"
    assert not by_code["PAIR-001"][0].hyperlink.target
    assert by_code["PAIR-001"][0].fill.fgColor.rgb == RED
    consent = C.MENTEES.column("consent_date").header
    mentees = wb[C.MENTEES.name]
    letter = next(c.column_letter for c in mentees[1] if c.value == consent)
    assert by_code["CONSENT-001"][0].hyperlink.location == f"'{C.MENTEES.name}'!{letter}3"
    # the empty cell is highlighted and carries the note, like a filled one
    assert highlight_of(mentees, f"{letter}3") == RED
    assert "CONSENT-001" in mentees[f"{letter}3"].comment.text
    assert highlight_of(wb[C.PAIRS.name], "C2") == RED
    assert highlight_of(wb[C.PAIRS.name], "C3") is None
    assert wb[C.PAIRS.name]["C2"].comment.text.startswith(MARK)
    # the header notes of the template stay
    assert mentees["A1"].comment is not None and MARK not in mentees["A1"].comment.text


def test_everything_else_is_left_as_it_was(bad_book, tmp_path):
    before = package_parts(bad_book)
    out = write_annotated(bad_book, tmp_path / "out.xlsx", validate_path(bad_book))
    after = package_parts(out)
    assert set(before) <= set(after)
    user = _sheet_part(bad_book, USER_SHEET)
    mentors = _sheet_part(bad_book, C.MENTORS.name)
    untouched = [user, "xl/workbook.xml", _sheet_part(bad_book, C.ROADMAP.name)]
    assert all(after[p] == before[p] for p in untouched)
    assert _cells(after[mentors]) == _cells(before[mentors]), "cells are never rewritten"
    src, copy = load_workbook(bad_book)[C.MENTORS.name], load_workbook(out)[C.MENTORS.name]
    assert [c.value for c in copy[1]][-1] == USER_COLUMN
    assert [(str(d.sqref), d.type, d.formula1) for d in copy.data_validations.dataValidation] \
        == [(str(d.sqref), d.type, d.formula1) for d in src.data_validations.dataValidation]
    assert load_workbook(out)[USER_SHEET]["A1"].value == "позвонить в управление"


def test_annotating_a_copy_replaces_what_it_wrote(bad_book, tmp_path):
    first = write_annotated(bad_book, tmp_path / "a1.xlsx", validate_path(bad_book))
    second = write_annotated(first, tmp_path / "a2.xlsx", validate_path(first))
    assert _check_rows(second) == _check_rows(first)
    one, two = load_workbook(first), load_workbook(second)
    for sheet in (C.PAIRS.name, C.MENTEES.name, C.MENTORS.name):
        assert _our_notes(two[sheet]) == _our_notes(one[sheet])
        assert len(two[sheet].conditional_formatting) == len(one[sheet].conditional_formatting)
    assert package_parts(second)["xl/styles.xml"] == package_parts(first)["xl/styles.xml"]

    # the pair is fixed, a new mistake appears: the old highlight and note are gone
    moved = Finding("ROAD-001", Severity.WARNING, C.ROADMAP.name, 3, None, None, "Срок прошёл",
                    "Отметьте выполнение")
    third = write_annotated(second, tmp_path / "a3.xlsx",
                            Report(source="a2.xlsx", reference_date=date(2026, 11, 30),
                                   findings=[moved]))
    wb = load_workbook(third)
    assert [r[1] for r in _check_rows(third)] == ["ROAD-001"]
    for sheet in (C.PAIRS.name, C.MENTEES.name, C.MENTORS.name):
        assert not highlighted(wb[sheet]) and not _our_notes(wb[sheet])
    assert wb[C.MENTEES.name]["A1"].comment is not None  # the template's notes stay
    assert highlight_of(wb[C.ROADMAP.name], "A3") == "FFFFEB9C"
    assert list(_our_notes(wb[C.ROADMAP.name])) == ["A3"]


def test_a_huge_value_is_shortened(tmp_path):
    data = clean_school()
    data["mentors"][0]["birth_date"] = "9" * 40_000
    src = write_school_workbook(tmp_path / "huge.xlsx", data)
    out = write_annotated(src, tmp_path / "out.xlsx", validate_path(src))
    values = [r[5] for r in _check_rows(out) if r[1] == "CELL-002"]
    assert values == ["9" * VALUE_LIMIT + "…"]
    assert out.stat().st_size < src.stat().st_size + 50_000


@pytest.mark.parametrize("text", ['=HYPERLINK("http://example.invalid","x")', "+7 999", "-1-",
                                  "@SUM(A1)"])
def test_text_that_looks_like_a_formula_stays_text(tmp_path, text):
    data = clean_school()
    data["mentors"][0]["birth_date"] = text
    src = write_school_workbook(tmp_path / "inj.xlsx", data)
    out = write_annotated(src, tmp_path / "out.xlsx", validate_path(src))
    part = package_parts(out)[_sheet_part(out, C.CHECK.name)]
    assert b"<f>" not in part and b":f>" not in part
    ws = load_workbook(out)[C.CHECK.name]
    quoted = [c for row in ws.iter_rows(min_row=2) for c in row if c.value == text]
    assert quoted and all(c.data_type == "s" for c in quoted)


def test_macros_and_buttons_are_kept(tmp_path):
    src = build_school_xlsm(tmp_path / "school.xlsm")
    report = validate_path(src)
    assert report.findings, "an empty template has required cells to fill"
    out = write_annotated(src, tmp_path / "checked.xlsm", report)
    assert_macros_kept(src, out)
    wb = load_workbook(out, keep_vba=True)
    assert [r[1].value for r in wb[C.CHECK.name].iter_rows(min_row=2)] \
        == [f.code for f in report.findings]
    school = wb[C.SCHOOL.name]
    linked = {r[0].hyperlink.location for r in wb[C.CHECK.name].iter_rows(min_row=2)
              if r[0].hyperlink is not None}
    assert linked and all(loc.startswith(f"'{C.SCHOOL.name}'!B") for loc in linked)
    assert all(highlight_of(school, loc.split("!")[1]) for loc in linked)


def test_a_book_without_the_check_sheet_gets_one(bad_book, tmp_path):
    wb = load_workbook(bad_book)
    del wb[C.CHECK.name]
    wb.save(bad_book)
    out = write_annotated(bad_book, tmp_path / "out.xlsx", validate_path(bad_book))
    wb = load_workbook(out)
    assert wb.sheetnames[-1] == C.CHECK.name
    assert wb.sheetnames[:-1] == load_workbook(bad_book).sheetnames
    assert {r[1] for r in _check_rows(out)} >= {"PAIR-001", "CONSENT-001", "CELL-002"}


def test_indicators_copy_fills_only_the_indicators_sheet(bad_book, tmp_path):
    values = compute_indicators(SchoolWorkbook.from_path(bad_book))
    out = write_indicators_copy(bad_book, tmp_path / "ind.xlsx", values)
    ws = load_workbook(out)[C.INDICATORS.name]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [v.title for v in values]
    assert [r[1] for r in rows] == [v.numerator for v in values]
    before, after = package_parts(bad_book), package_parts(out)
    changed = {n for n in before if before[n] != after[n]}
    assert changed <= {_sheet_part(bad_book, C.INDICATORS.name), "xl/styles.xml"}


def test_damaged_book_is_a_russian_error_and_nothing_is_half_written(bad_book, tmp_path):
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(bad_book) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == _sheet_part(bad_book, C.PAIRS.name):
                data = data[: len(data) // 2]
            dst.writestr(item, data)
    out = tmp_path / "out" / "copy.xlsx"
    out.parent.mkdir()
    out.write_bytes(b"an older copy")
    report = validate_path(bad_book)
    with pytest.raises(AnnotatedCopyError) as err:
        write_annotated(broken, out, report)
    assert "повреждена" in err.value.message_ru
    assert out.read_bytes() == b"an older copy"
    assert [p.name for p in out.parent.iterdir()] == ["copy.xlsx"]


def test_copy_must_not_replace_the_checked_file(bad_book):
    with pytest.raises(ValueError):
        write_annotated(bad_book, bad_book, validate_path(bad_book))


@pytest.mark.libreoffice
def test_libreoffice_opens_the_copy_and_a_second_pass_does_not_stack(bad_book, tmp_path,
                                                                     soffice):
    wb = load_workbook(bad_book)
    del wb[C.CHECK.name]  # the sheet is added to the package, not only refilled
    wb.save(bad_book)
    out = write_annotated(bad_book, tmp_path / "annotated.xlsx", validate_path(bad_book))
    saved = soffice(out, "xlsx")
    wb = load_workbook(saved)
    ws = wb[C.CHECK.name]
    assert [r[1] for r in ws.iter_rows(min_row=2, values_only=True)] \
        == [r[1] for r in _check_rows(out)]
    links = [r[0].hyperlink for r in ws.iter_rows(min_row=2)]
    assert links and all(h is not None and h.location and not h.target for h in links)
    assert any(h.location.replace("'", "") == f"{C.PAIRS.name}!C2" for h in links)
    assert highlight_of(wb[C.PAIRS.name], "C2") == RED
    assert "PAIR-001" in wb[C.PAIRS.name]["C2"].comment.text
    assert wb[USER_SHEET]["A1"].value == "позвонить в управление"
    assert wb[C.MENTORS.name].data_validations.dataValidation

    again = write_annotated(saved, tmp_path / "again.xlsx", validate_path(saved))
    wb2 = load_workbook(again)
    for sheet in (C.PAIRS.name, C.MENTEES.name, C.MENTORS.name):
        notes = _our_notes(wb2[sheet])
        assert notes == _our_notes(load_workbook(out)[sheet])
        assert all(text.count(MARK) == 1 for text in notes.values())
        ours = [cf for cf in wb2[sheet].conditional_formatting
                if all(r.formula == [CF_FORMULA] for r in cf.rules)]
        assert len(ours) <= len(Severity)
    assert soffice(again, "xlsx").exists()


@pytest.mark.libreoffice
def test_ods_gets_a_russian_message_instead_of_a_copy(bad_book, tmp_path, soffice):
    ods = soffice(bad_book, "ods")
    res = run("validate", ods, "--annotate", tmp_path / "copy.xlsx")
    assert res.returncode != 0
    assert ".xlsx" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "copy.xlsx").exists()


def test_a_users_own_note_is_kept_under_ours(bad_book, tmp_path):
    from openpyxl.comments import Comment

    wb = load_workbook(bad_book)
    wb[C.PAIRS.name]["C2"].comment = Comment("уточнить у завуча", "Учитель")
    wb.save(bad_book)
    first = write_annotated(bad_book, tmp_path / "a1.xlsx", validate_path(bad_book))
    text = load_workbook(first)[C.PAIRS.name]["C2"].comment.text
    assert text.startswith("уточнить у завуча") and "PAIR-001" in text
    second = write_annotated(first, tmp_path / "a2.xlsx", validate_path(first))
    assert load_workbook(second)[C.PAIRS.name]["C2"].comment.text.count(MARK) == 1
    clean = Report(source="a2.xlsx", reference_date=date(2026, 11, 30), findings=[])
    third = write_annotated(second, tmp_path / "a3.xlsx", clean)
    wb = load_workbook(third)
    assert wb[C.PAIRS.name]["C2"].comment.text == "уточнить у завуча"
    assert not highlighted(wb[C.PAIRS.name])
    assert list(wb[C.CHECK.name].iter_rows(min_row=2, values_only=True)) == []


def test_sheet_tail_edits_keep_cells_and_schema_order():
    from lxml import etree

    from addin.xlsx.sheet import ORDER, SheetTail, element

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    data = (f'<?xml version="1.0"?><x:worksheet xmlns:x="{main}" '
            'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
            '<x:sheetData><x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row></x:sheetData>'
            '<x:dataValidations count="0"/><x:pageMargins left="1"/><mc:AlternateContent>'
            '<mc:Choice Requires="x14"><x:controls/></mc:Choice></mc:AlternateContent>'
            '</x:worksheet>').encode()
    tail = SheetTail.split(data)
    tail.insert(element('<legacyDrawing/>'))
    tail.insert(element('<conditionalFormatting sqref="A1"/>'))
    out = tail.join()
    assert out.startswith(data[:data.index(b"</x:sheetData>")])
    root = etree.fromstring(out)
    names = [etree.QName(ch).localname for ch in root]
    assert names == ["sheetData", "conditionalFormatting", "dataValidations", "pageMargins",
                     "legacyDrawing", "AlternateContent"]
    ranked = [ORDER.index(n) for n in names[:-1]]
    assert ranked == sorted(ranked)
    assert root.find(f"{{{main}}}conditionalFormatting") is not None
    assert root.find(f"{{{main}}}legacyDrawing") is not None


def test_the_copy_keeps_the_books_extension(tmp_path):
    src = build_school_xlsm(tmp_path / "school.xlsm")
    res = run("validate", src, "--annotate", tmp_path / "copy.xlsx")
    assert "«copy.xlsm»" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "copy.xlsx").exists()
