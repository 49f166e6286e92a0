"""The school workbook builder: layout from the contract, validations, data, byte stability."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from openpyxl.utils import column_index_from_string, range_boundaries
from openpyxl.worksheet.worksheet import Worksheet

from workbook_templates import build
from workbook_templates import contract as C
from workbook_templates.contract import ColType, SheetKind

TABLE_KINDS = (SheetKind.TABLE, SheetKind.OUTPUT)
DICT_TYPES = (ColType.ENUM, ColType.YESNO)

SAMPLE: build.SchoolData = {
    "school": {
        "code": "ОО-001",
        "name": "МБОУ СОШ № 1",
        "org_type": "ОО",
        "period": "2026-11",
        "reference_date": dt.date(2026, 11, 30),
        "students_total": 812,
        "curator": "=1+1",
    },
    "mentors": [
        {"id": "Н-001", "full_name": "Иванова Мария Петровна", "birth_date": dt.date(1980, 5, 17),
         "category": "педагог", "experience_years": 12.5, "trained": "да"},
        {"id": "Н-002", "full_name": "+7 900 000-00-00", "birth_date": "17.05.1980",
         "position": "@ref", "experience_years": None},
    ],
    "roadmap": [
        {"item_no": "1.10", "activity": "-минус в начале", "due_date": dt.date(2026, 9, 30)},
    ],
}


@pytest.fixture(scope="module")
def template_path(tmp_path_factory) -> Path:
    """The empty template written to disk."""
    return build.write_school_workbook(tmp_path_factory.mktemp("tpl") / "school.xlsx")


@pytest.fixture(scope="module")
def template(template_path) -> openpyxl.Workbook:
    """The empty template read back with openpyxl."""
    return openpyxl.load_workbook(template_path)


@pytest.fixture(scope="module")
def filled_path(tmp_path_factory) -> Path:
    """A workbook filled with SAMPLE."""
    return build.write_school_workbook(tmp_path_factory.mktemp("filled") / "s.xlsx", SAMPLE)


def header_row(ws: Worksheet) -> list[object]:
    """Values of the header row, trailing empties dropped."""
    values = [c.value for c in ws[C.HEADER_ROW]]
    while values and values[-1] is None:
        values.pop()
    return values


def range_values(wb: openpyxl.Workbook, ref: str) -> list[object]:
    """Values of a one-column absolute range such as 'Справочники'!$C$2:$C$7."""
    sheet_part, cells = ref.rsplit("!", 1)
    ws = wb[sheet_part.strip("'")]
    min_col, min_row, max_col, max_row = range_boundaries(cells.replace("$", ""))
    assert min_col == max_col
    return [ws.cell(row=r, column=min_col).value for r in range(min_row, max_row + 1)]


def validations_by_column(ws: Worksheet) -> dict[int, list]:
    """Column index -> data validations that cover any cell of that column."""
    out: dict[int, list] = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            min_col, _, max_col, _ = rng.bounds
            for col in range(min_col, max_col + 1):
                out.setdefault(col, []).append(dv)
    return out


def form_row(field_key: str) -> int:
    """Row of a field on the FORM sheet."""
    keys = [c.key for c in C.SCHOOL.columns]
    return C.FIRST_DATA_ROW + keys.index(field_key)


# ------------------------------------------------------------------------------ layout


def test_sheets_in_contract_order(template):
    assert template.sheetnames == [s.name for s in C.SHEETS]


@pytest.mark.parametrize("sheet", [s for s in C.SHEETS if s.kind in TABLE_KINDS],
                         ids=lambda s: s.key)
def test_table_headers_in_contract_order(template, sheet):
    ws = template[sheet.name]
    assert header_row(ws) == [c.header for c in sheet.columns]
    assert ws.freeze_panes == f"A{C.FIRST_DATA_ROW}"
    assert ws.auto_filter.ref.startswith(f"A{C.HEADER_ROW}:")
    assert ws.max_row == C.HEADER_ROW  # no data in the template
    for index, col in enumerate(sheet.columns, start=1):
        cell = ws.cell(row=C.HEADER_ROW, column=index)
        assert cell.font.bold
        letter = cell.column_letter
        assert ws.column_dimensions[letter].width == col.width


@pytest.mark.parametrize("sheet", [s for s in C.SHEETS if s.kind in TABLE_KINDS],
                         ids=lambda s: s.key)
def test_header_comments_carry_help(template, sheet):
    ws = template[sheet.name]
    for index, col in enumerate(sheet.columns, start=1):
        comment = ws.cell(row=C.HEADER_ROW, column=index).comment
        if not col.help:
            assert comment is None
            continue
        assert col.help in comment.text
        if col.type is ColType.DATE:
            assert "ДД.ММ.ГГГГ" in comment.text
        if col.type in DICT_TYPES:
            assert "Выберите из списка" in comment.text


def test_form_sheet_labels(template):
    ws = template[C.SCHOOL.name]
    assert [c.value for c in ws[C.HEADER_ROW]][:3] == list(build.FORM_HEADERS)
    labels = [ws.cell(row=r, column=1).value
              for r in range(C.FIRST_DATA_ROW, C.FIRST_DATA_ROW + len(C.SCHOOL.columns))]
    assert labels == [c.header for c in C.SCHOOL.columns]
    for col in C.SCHOOL.columns:
        row = form_row(col.key)
        assert ws.cell(row=row, column=build.FORM_VALUE_COLUMN).value is None
        if col.help:
            assert col.help in ws.cell(row=row, column=3).value


def test_form_validations(template):
    ws = template[C.SCHOOL.name]
    by_cell = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    for col in C.SCHOOL.columns:
        coord = f"B{form_row(col.key)}"
        if col.type in DICT_TYPES:
            dv = by_cell[coord]
            assert dv.type == "list"
            assert range_values(template, dv.formula1) == list(C.dictionary_values(col.dictionary))
        elif col.type is ColType.DATE:
            assert by_cell[coord].type == "date"
        elif col.type is ColType.INTEGER:
            dv = by_cell[coord]
            assert (dv.type, dv.formula1, dv.formula2) == ("whole", "0", "1000000")
        else:
            assert coord not in by_cell


def test_dictionaries_sheet_hidden_and_complete(template):
    ws = template[C.DICTIONARY_SHEET.name]
    assert ws.sheet_state == "hidden"
    for index, (key, (title, values)) in enumerate(C.DICTIONARIES.items(), start=1):
        assert ws.cell(row=C.HEADER_ROW, column=index).value == title
        got = [ws.cell(row=C.FIRST_DATA_ROW + i, column=index).value for i in range(len(values))]
        assert got == list(values)
        assert range_values(template, build.dictionary_range(key)) == list(values)


def test_version_in_defined_name_and_instructions(template):
    assert template.defined_names[C.VERSION_DEFINED_NAME].attr_text == f'"{C.TEMPLATE_VERSION}"'
    ws = template[C.INSTRUCTIONS.name]
    rows = [r for r in ws.iter_rows(values_only=True) if r[0] == C.VERSION_LABEL]
    assert len(rows) == 1 and rows[0][1] == C.TEMPLATE_VERSION


def test_instructions_text(template):
    ws = template[C.INSTRUCTIONS.name]
    text = "\n".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v)
    for sheet in C.SHEETS:
        assert sheet.name in text and sheet.purpose in text
        assert sheet.how_to_fill in text
    assert "Календарь отчётности" in text
    for item in C.CALENDAR:
        assert item.what in text and item.when in text
    assert "«Проверить»" in text and "«Показатели»" in text and "браузер" in text


@pytest.mark.parametrize("sheet", [s for s in C.SHEETS if s.kind is SheetKind.TABLE],
                         ids=lambda s: s.key)
def test_table_validations(template, sheet):
    ws = template[sheet.name]
    by_col = validations_by_column(ws)
    assert len(ws.data_validations.dataValidation) == len(by_col)  # one DV per column
    for index, col in enumerate(sheet.columns, start=1):
        dvs = by_col.get(index, [])
        if col.type in DICT_TYPES:
            (dv,) = dvs
            assert dv.type == "list" and dv.showErrorMessage and dv.error
            assert dv.formula1.startswith(f"'{C.DICTIONARY_SHEET.name}'!$")
            assert range_values(template, dv.formula1) == list(C.dictionary_values(col.dictionary))
            assert str(dv.sqref) == f"{ws.cell(row=2, column=index).column_letter}2:" \
                f"{ws.cell(row=2, column=index).column_letter}{build.LAST_TEMPLATE_ROW}"
        elif col.type is ColType.DATE:
            (dv,) = dvs
            assert (dv.type, dv.formula1, dv.formula2) == (
                "date", "DATE(1900,1,1)", "DATE(2100,12,31)")
            assert dv.error == "Введите дату в формате ДД.ММ.ГГГГ"
        elif col.type in (ColType.INTEGER, ColType.NUMBER):
            (dv,) = dvs
            assert dv.type == ("whole" if col.type is ColType.INTEGER else "decimal")
            if col.min is not None:
                assert float(dv.formula1) == col.min
            if col.max is not None:
                assert float(dv.formula2) == col.max
        else:
            assert dvs == []


def test_output_sheets_only_headers(template):
    for sheet in (C.CHECK, C.INDICATORS):
        ws = template[sheet.name]
        assert ws.max_row == C.HEADER_ROW
        assert not ws.data_validations.dataValidation


def test_calamine_reads_template(template_path):
    wb = python_calamine.CalamineWorkbook.from_path(str(template_path))
    assert wb.sheet_names == [s.name for s in C.SHEETS]
    rows = wb.get_sheet_by_name(C.MENTORS.name).to_python()
    assert rows[0] == [c.header for c in C.MENTORS.columns]
    info = {s.name: s.visible for s in wb.sheets_metadata}
    assert str(info[C.DICTIONARY_SHEET.name]).lower().endswith("hidden")


# ------------------------------------------------------------------------ byte stability


def test_byte_stable(tmp_path, monkeypatch):
    first = build.write_school_workbook(tmp_path / "a.xlsx")
    # a different wall clock must not change a byte
    real_time = build.zipfile.time.time
    monkeypatch.setattr(build.zipfile.time, "time", lambda: real_time() + 86_400 * 400)
    second = build.write_school_workbook(tmp_path / "b.xlsx", data=None)
    monkeypatch.undo()
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (first, second)]
    assert digest[0] == digest[1]
    with zipfile.ZipFile(first) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2026, 1, 1, 0, 0, 0)}
        core = zf.read("docProps/core.xml").decode()
    assert "2026-01-01T00:00:00Z" in core and "nastavnik" in core


def test_filled_workbook_byte_stable(tmp_path):
    a = build.write_school_workbook(tmp_path / "a.xlsx", SAMPLE)
    b = build.write_school_workbook(tmp_path / "b.xlsx", SAMPLE)
    assert a.read_bytes() == b.read_bytes()


def test_no_temp_files_left(tmp_path):
    build.write_school_workbook(tmp_path / "x.xlsx")
    build.write_school_workbook(tmp_path / "x.xlsx")  # overwrite
    assert [p.name for p in tmp_path.iterdir()] == ["x.xlsx"]


# ---------------------------------------------------------------------------------- data


def test_data_written_with_types(filled_path):
    wb = openpyxl.load_workbook(filled_path)
    form = wb[C.SCHOOL.name]
    ref_date = form.cell(row=form_row("reference_date"), column=2)
    assert ref_date.is_date and ref_date.value.date() == dt.date(2026, 11, 30)
    assert ref_date.number_format == build.DATE_FORMAT
    curator = form.cell(row=form_row("curator"), column=2)
    assert (curator.value, curator.data_type) == ("=1+1", "s")
    assert form.cell(row=form_row("period"), column=2).value == "2026-11"
    assert form.cell(row=form_row("students_total"), column=2).value == 812
    assert form.cell(row=form_row("municipality"), column=2).value is None

    ws = wb[C.MENTORS.name]
    col = {c.key: i for i, c in enumerate(C.MENTORS.columns, start=1)}
    birth = ws.cell(row=2, column=col["birth_date"])
    assert birth.is_date and birth.value.date() == dt.date(1980, 5, 17)
    assert birth.number_format == build.DATE_FORMAT
    assert ws.cell(row=2, column=col["experience_years"]).value == 12.5
    text_date = ws.cell(row=3, column=col["birth_date"])  # a str stays a str
    assert (text_date.value, text_date.data_type) == ("17.05.1980", "s")
    for key, expected in (("full_name", "+7 900 000-00-00"), ("position", "@ref")):
        cell = ws.cell(row=3, column=col[key])
        assert (cell.value, cell.data_type) == (expected, "s")
    assert ws.cell(row=3, column=col["category"]).value is None
    road = wb[C.ROADMAP.name]
    assert road.cell(row=2, column=1).value == "1.10"
    assert road.cell(row=2, column=3).value == "-минус в начале"


def test_calamine_reads_the_same_values(filled_path):
    wb = python_calamine.CalamineWorkbook.from_path(str(filled_path))
    form = wb.get_sheet_by_name(C.SCHOOL.name).to_python()
    values = {row[0]: row[1] for row in form[1:]}
    headers = C.SCHOOL.headers
    assert values[headers["curator"]] == "=1+1"
    assert values[headers["reference_date"]] == dt.date(2026, 11, 30)
    assert values[headers["period"]] == "2026-11"
    assert values[headers["students_total"]] in (812, 812.0)
    rows = wb.get_sheet_by_name(C.MENTORS.name).to_python()
    assert rows[0] == [c.header for c in C.MENTORS.columns]
    first = dict(zip(rows[0], rows[1], strict=True))
    second = dict(zip(rows[0], rows[2], strict=True))
    h = C.MENTORS.headers
    assert first[h["birth_date"]] == dt.date(1980, 5, 17)
    assert first[h["full_name"]] == "Иванова Мария Петровна"
    assert first[h["trained"]] == "да"
    assert second[h["birth_date"]] == "17.05.1980"
    assert second[h["position"]] == "@ref"
    assert second[h["full_name"]] == "+7 900 000-00-00"


def test_no_formula_in_filled_file(filled_path):
    with zipfile.ZipFile(filled_path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<f[ >]", zf.read(name)), name


def test_validations_cover_long_data(tmp_path):
    rows = [{"id": f"Н-{i:04d}", "category": "педагог"} for i in range(1500)]
    path = build.write_school_workbook(tmp_path / "long.xlsx", {"mentors": rows})
    ws = openpyxl.load_workbook(path)[C.MENTORS.name]
    by_col = validations_by_column(ws)
    index = [c.key for c in C.MENTORS.columns].index("category") + 1
    (dv,) = by_col[index]
    assert str(dv.sqref).endswith(str(C.FIRST_DATA_ROW + 1499))
    assert ws.auto_filter.ref.endswith(str(C.FIRST_DATA_ROW + 1499))


@pytest.mark.parametrize("data, error", [
    ({"nope": []}, ValueError),
    ({"instructions": []}, ValueError),
    ({"mentors": [{"nope": 1}]}, ValueError),
    ({"school": {"nope": 1}}, ValueError),
    ({"school": [{"code": "x"}]}, TypeError),
    ({"mentors": {"id": "x"}}, TypeError),
    ({"mentors": [{"id": object()}]}, TypeError),
])
def test_bad_data_rejected(data, error):
    with pytest.raises(error):
        build.build_school_workbook(data)


def test_values_normalized():
    wb = build.build_school_workbook({"meetings": [
        {"confirmed": True, "feedback": False, "pair_id": "П-\x01001", "date": float("nan")},
    ]})
    ws = wb[C.MEETINGS.name]
    col = {c.key: i for i, c in enumerate(C.MEETINGS.columns, start=1)}
    assert ws.cell(row=2, column=col["confirmed"]).value == C.YES
    assert ws.cell(row=2, column=col["feedback"]).value == C.NO
    assert ws.cell(row=2, column=col["pair_id"]).value == "П-001"
    assert ws.cell(row=2, column=col["date"]).value is None


def test_build_templates(tmp_path):
    out = tmp_path / "out" / "nested"
    from workbook_templates.kit import build_templates

    paths = build_templates(out)
    assert paths[0] == out / "school.xlsx"
    assert {p.name for p in paths} >= {"school.xlsx", "school.xlsm", "Code.gs",
                                        "appsscript.json"}
    assert all(p.is_file() for p in paths)
    assert paths[0].read_bytes() == build.write_school_workbook(tmp_path / "t.xlsx").read_bytes()
    assert openpyxl.load_workbook(paths[0]).sheetnames == [s.name for s in C.SHEETS]


def test_text_columns_keep_typed_text(template):
    """Text-like columns carry the text format so Excel keeps «1.10» and «2026-11» as typed."""
    ws = template[C.ROADMAP.name]
    for index, col in enumerate(C.ROADMAP.columns, start=1):
        fmt = ws.column_dimensions[ws.cell(row=1, column=index).column_letter].number_format
        if col.type is ColType.DATE:
            assert fmt == build.DATE_FORMAT
        elif col.type is ColType.TEXT:
            assert fmt == "@"
    form = template[C.SCHOOL.name]
    assert form.cell(row=form_row("period"), column=2).number_format == "@"
    assert column_index_from_string("B") == build.FORM_VALUE_COLUMN
