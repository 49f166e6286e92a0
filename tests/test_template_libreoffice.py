"""The built template survives LibreOffice: xlsx -> xlsx and xlsx -> ods round trips."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from openpyxl.utils import get_column_letter

from workbook_templates import build
from workbook_templates import contract as C
from workbook_templates.contract import ColType, SheetKind

pytestmark = pytest.mark.libreoffice

DICT_TYPES = (ColType.ENUM, ColType.YESNO)
INPUT_SHEETS = [s for s in C.SHEETS if s.kind in (SheetKind.TABLE, SheetKind.FORM)]


def unquote(ref: str) -> str:
    """A range reference without quotes (LibreOffice drops them around sheet names)."""
    return ref.replace("'", "")


def expected_lists(sheet: C.Sheet) -> dict[str, str]:
    """First validated cell of each ENUM/YESNO column of ``sheet`` -> unquoted dictionary range."""
    out = {}
    for index, col in enumerate(sheet.columns):
        if col.type not in DICT_TYPES:
            continue
        if sheet.kind is SheetKind.FORM:
            cell = f"B{C.FIRST_DATA_ROW + index}"
        else:
            cell = f"{get_column_letter(index + 1)}{C.FIRST_DATA_ROW}"
        out[cell] = unquote(build.dictionary_range(col.dictionary))
    return out


def list_formula_at(ws, coord: str) -> str | None:
    """formula1 of the list validation covering ``coord`` (None if there is none)."""
    for dv in ws.data_validations.dataValidation:
        if dv.type == "list" and coord in dv.sqref:
            return dv.formula1
    return None


@pytest.fixture(scope="module")
def template_path(tmp_path_factory) -> Path:
    """The empty template."""
    return build.write_school_workbook(tmp_path_factory.mktemp("tpl") / "school.xlsx")


@pytest.fixture(scope="module")
def lo_xlsx(soffice, template_path) -> openpyxl.Workbook:
    """The template after LibreOffice opened and saved it as xlsx."""
    return openpyxl.load_workbook(soffice(template_path, "xlsx"))


def test_sheets_survive(lo_xlsx):
    assert lo_xlsx.sheetnames == [s.name for s in C.SHEETS]
    assert lo_xlsx[C.DICTIONARY_SHEET.name].sheet_state == "hidden"
    for sheet in C.SHEETS:
        if sheet.kind in (SheetKind.TABLE, SheetKind.OUTPUT):
            row = [c.value for c in lo_xlsx[sheet.name][C.HEADER_ROW]][: len(sheet.columns)]
            assert row == [c.header for c in sheet.columns]


def test_version_survives(lo_xlsx):
    name = lo_xlsx.defined_names[C.VERSION_DEFINED_NAME]
    assert name.attr_text == f'"{C.TEMPLATE_VERSION}"'
    rows = lo_xlsx[C.INSTRUCTIONS.name].iter_rows(values_only=True)
    assert (C.VERSION_LABEL, C.TEMPLATE_VERSION) in {tuple(r[:2]) for r in rows}


@pytest.mark.parametrize("sheet", INPUT_SHEETS, ids=lambda s: s.key)
def test_list_validations_survive(lo_xlsx, sheet):
    ws = lo_xlsx[sheet.name]
    dictionaries = lo_xlsx[C.DICTIONARY_SHEET.name]
    for coord, expected in expected_lists(sheet).items():
        formula = list_formula_at(ws, coord)
        assert formula is not None, f"{sheet.name}!{coord}: drop-down lost"
        assert unquote(formula) == expected
        cells = expected.split("!", 1)[1].replace("$", "")
        values = [c.value for row in dictionaries[cells] for c in row]
        col = next(c for c in sheet.columns if c.type in DICT_TYPES and
                   unquote(build.dictionary_range(c.dictionary)) == expected)
        assert values == list(C.dictionary_values(col.dictionary))


def test_date_validation_survives(lo_xlsx):
    ws = lo_xlsx[C.MENTORS.name]
    index = [c.key for c in C.MENTORS.columns].index("birth_date") + 1
    coord = f"{get_column_letter(index)}{C.FIRST_DATA_ROW}"
    (dv,) = [dv for dv in ws.data_validations.dataValidation if coord in dv.sqref]
    assert (dv.type, dv.formula1, dv.formula2) == ("date", "DATE(1900,1,1)", "DATE(2100,12,31)")


@pytest.mark.parametrize("sheet", [s for s in C.SHEETS if s.kind is SheetKind.TABLE],
                         ids=lambda s: s.key)
def test_header_comments_survive(lo_xlsx, sheet):
    ws = lo_xlsx[sheet.name]
    for index, col in enumerate(sheet.columns, start=1):
        if col.help:  # the author is not kept by LibreOffice; the text is
            comment = ws.cell(row=C.HEADER_ROW, column=index).comment
            assert comment is not None and col.help in comment.text


def test_ods_conversion(soffice, template_path):
    ods = soffice(template_path, "ods")
    wb = python_calamine.CalamineWorkbook.from_path(str(ods))
    assert wb.sheet_names == [s.name for s in C.SHEETS]
    hidden = {s.name for s in wb.sheets_metadata if str(s.visible).lower().endswith("hidden")}
    assert hidden == {C.DICTIONARY_SHEET.name}
    rows = wb.get_sheet_by_name(C.PAIRS.name).to_python()
    assert rows[0] == [c.header for c in C.PAIRS.columns]


def test_filled_workbook_as_ods(soffice, tmp_path):
    data: build.SchoolData = {
        "school": {"curator": "=1+1", "reference_date": dt.date(2026, 11, 30)},
        "mentors": [{"id": "Н-001", "birth_date": dt.date(1980, 5, 17), "trained": C.YES}],
    }
    ods = soffice(build.write_school_workbook(tmp_path / "filled.xlsx", data), "ods")
    wb = python_calamine.CalamineWorkbook.from_path(str(ods))
    form = {r[0]: r[1] for r in wb.get_sheet_by_name(C.SCHOOL.name).to_python()[1:]}
    assert form[C.SCHOOL.headers["curator"]] == "=1+1"
    assert form[C.SCHOOL.headers["reference_date"]] == dt.date(2026, 11, 30)
    rows = wb.get_sheet_by_name(C.MENTORS.name).to_python()
    record = dict(zip(rows[0], rows[1], strict=False))
    assert record[C.MENTORS.headers["birth_date"]] == dt.date(1980, 5, 17)
    assert record[C.MENTORS.headers["trained"]] == C.YES
