"""The federal form: our default layout, and an official template filled through a mapping."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from sync.consolidate import consolidate
from sync.federal_form import (
    DEFAULT_TITLE,
    EXAMPLE_MAPPING,
    KEY_HEADER,
    FederalFormError,
    MappingError,
    fill_official_form,
    known_row_keys,
    load_mapping,
    parse_cell,
    write_default_form,
)
from sync.figures import COLUMNS, federal_figures
from sync.sources.folder import FolderSource
from sync.sources.registry import read_registry
from workbook_templates.demo import generate_municipality, write_municipality

VALUE_COLUMNS = ["ОО", "СПО", "ДО", "Всего"]
MUNICIPALITY = "Северо-Озёрский муниципальный округ"


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> pd.DataFrame:
    """The federal table of a real consolidation of the demo municipality."""
    out = write_municipality(generate_municipality(), tmp_path_factory.mktemp("muni"))
    entries = read_registry(out / "registry.csv")
    src = FolderSource(out)
    cons = consolidate([src.fetch(e) for e in entries], "2026-11")
    table = federal_figures(cons.participants, cons.pairs, {e.code: e.org_type for e in entries})
    assert table["Всего"].sum() > 0
    return table


@pytest.fixture
def distinct(figures) -> pd.DataFrame:
    """The same rows with a different number in every cell, so a swapped cell shows."""
    table = figures.copy()
    for j, col in enumerate(VALUE_COLUMNS):
        table[col] = [100 * (i + 1) + j for i in range(len(table))]
    return table


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- default form
def test_default_form_reads_back_equal_to_the_figures(figures, tmp_path):
    out = tmp_path / "форма" / "Сведения 2026.xlsx"
    assert write_default_form(figures, out, year=2026, municipality=MUNICIPALITY,
                              period="2026-11") == out
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left

    ws = load_workbook(out).active
    assert ws["A1"].value == DEFAULT_TITLE
    cells = [[c.value for c in row] for row in ws.iter_rows(min_row=2, max_row=4, max_col=2)]
    assert cells[0] == ["Отчётный год:", 2026]
    assert cells[1] == ["Муниципальное образование:", MUNICIPALITY]
    assert "2026-11" in cells[2][1] and "ноябрь" in cells[2][1]

    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=6, max_col=7)]
    assert rows[0] == ["Раздел", "Показатель", *VALUE_COLUMNS, KEY_HEADER]
    body = rows[1:]
    assert len(body) == len(figures)
    for got, (_, want) in zip(body, figures.iterrows(), strict=True):
        assert got[0] == want["section"] and got[1] == want["label"]
        assert got[6] == want["row_key"]
        for value, col in zip(got[2:6], VALUE_COLUMNS, strict=True):
            assert isinstance(value, int) and value == want[col], (want["row_key"], col)
    # the same table back as a DataFrame
    back = pd.DataFrame([[r[6], r[0], r[1], *r[2:6]] for r in body], columns=COLUMNS)
    pd.testing.assert_frame_equal(back, figures, check_dtype=False)


def test_default_form_writes_formula_like_text_as_text_and_replaces_atomically(figures,
                                                                              tmp_path):
    out = tmp_path / "form.xlsx"
    out.write_bytes(b"old")
    write_default_form(figures, out, year=2026, municipality="=HYPERLINK(\"x\")",
                       period="2026-12")
    ws = load_workbook(out).active
    assert ws["B3"].value == "=HYPERLINK(\"x\")" and ws["B3"].data_type == "s"
    assert sorted(os.listdir(tmp_path)) == ["form.xlsx"]


# ----------------------------------------------------------------------------- official form
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="FFDDEBF7")
INPUT_FILL = PatternFill("solid", fgColor="FFFFF2CC")


def build_official_template(path: Path) -> None:
    """A made-up official form laid out as sync/federal_mapping.example.toml describes."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Раздел 1"
    ws["A1"] = "Форма № НАСТ-1. " + DEFAULT_TITLE
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center", wrap_text=True)
    ws.merge_cells("A1:G1")
    ws["A3"], ws["A4"] = "Год", "Муниципальное образование"
    ws.merge_cells("A3:B3")
    ws.merge_cells("A4:B4")
    ws.merge_cells("C4:G4")
    for ref in ("C3", "C4"):
        ws[ref].fill = INPUT_FILL
        ws[ref].border = BOX
    headers = ["№", "Показатель", "", "ОО", "СПО", "ДО", "Всего"]
    ws.merge_cells("B7:C7")
    for col, h in enumerate(headers, start=1):
        cell = ws.cell(7, col)
        if h and not (col == 3):
            cell.value = h
        if col != 3:
            cell.font = Font(bold=True)
            cell.fill = HEAD_FILL
            cell.border = BOX
    labels = ["Наставники", "Наставляемые", "из них наставников-обучающихся",
              "из них наставляемых-обучающихся", "наставляемые с ОВЗ", "наставляемые в ТЖС",
              "наставляемые 10–19 лет"]
    for i, label in enumerate(labels):
        r = 8 + i
        ws.cell(r, 1, i + 1).border = BOX
        ws.cell(r, 2, label).border = BOX
        for col in range(4, 8):
            cell = ws.cell(r, col)
            cell.border = BOX
            cell.number_format = "#,##0"
            cell.fill = INPUT_FILL
    ws["G14"] = "=I14+J14"  # the template's own formula over hidden addends
    ws.column_dimensions["I"].hidden = True
    ws.column_dimensions["J"].hidden = True
    ws.column_dimensions["B"].width = 40
    ws2 = wb.create_sheet("Раздел 2")
    ws2["A1"] = "Раздел 2. Формы наставничества"
    ws2["A1"].font = Font(bold=True, italic=True)
    ws2["C6"], ws2["D6"], ws2["E6"] = "Форма", "Пар и групп", "Наставляемых"
    for r, form in enumerate(["ученик – ученик", "учитель – учитель", "учитель – ученик"],
                             start=7):
        ws2.cell(r, 3, form)
        for col in (4, 5):
            ws2.cell(r, col).border = BOX
            ws2.cell(r, col).fill = INPUT_FILL
    wb.save(path)


def style_of(cell) -> tuple:
    return (cell.font.b, cell.font.sz, cell.fill.fgColor.rgb, cell.fill.fill_type,
            cell.border.left.style, cell.border.bottom.style, cell.number_format,
            cell.alignment.horizontal)


def test_official_template_filled_through_the_example_mapping(distinct, tmp_path):
    template = tmp_path / "official.xlsx"
    build_official_template(template)
    before = sha256(template)
    mapping = load_mapping(EXAMPLE_MAPPING)
    out = tmp_path / "filled" / "НАСТ-1 2026.xlsx"
    assert fill_official_form(distinct, template, mapping, out, year=2026,
                              municipality=MUNICIPALITY) == out

    assert sha256(template) == before  # the template is never modified
    assert [p.name for p in out.parent.iterdir()] == [out.name]
    src, got = load_workbook(template), load_workbook(out)
    values = distinct.set_index("row_key")
    assert len(mapping.cells) >= 15
    for (row_key, col), ref in mapping.cells.items():
        sheet = ref.sheet or mapping.sheet
        cell = got[sheet][ref.coordinate]
        assert cell.value == values.at[row_key, col], (row_key, col, str(ref))
        assert isinstance(cell.value, int) and cell.data_type == "n"
        assert style_of(cell) == style_of(src[sheet][ref.coordinate]), str(ref)
    assert got["Раздел 1"]["C3"].value == 2026
    assert got["Раздел 1"]["C4"].value == MUNICIPALITY
    assert style_of(got["Раздел 1"]["C4"]) == style_of(src["Раздел 1"]["C4"])

    # everything else of the template is as it was
    for name in src.sheetnames:
        a, b = src[name], got[name]
        assert sorted(map(str, a.merged_cells.ranges)) == sorted(map(str, b.merged_cells.ranges))
        mapped = {ref.coordinate for ref in [*mapping.cells.values(), *mapping.meta.values()]
                  if (ref.sheet or mapping.sheet) == name}
        for row in a.iter_rows():
            for cell in row:
                if cell.coordinate in mapped:
                    continue
                other = b[cell.coordinate]
                assert other.value == cell.value, (name, cell.coordinate)
                assert style_of(other) == style_of(cell), (name, cell.coordinate)
    assert got["Раздел 1"]["G14"].value == "=I14+J14"
    assert got["Раздел 1"].column_dimensions["I"].hidden
    assert got["Раздел 1"].column_dimensions["B"].width == 40
    assert got["Раздел 1"]["A1"].font.b and got["Раздел 1"]["A1"].font.sz == 14


def test_official_template_with_a_mapping_written_by_hand(figures, tmp_path):
    """Sub-tables per row key, a hyphen for the dash, a sheet-qualified default."""
    template = tmp_path / "official.xlsx"
    build_official_template(template)
    toml = tmp_path / "mapping.toml"
    toml.write_text(
        '[form]\nsheet = "Раздел 1"\n\n'
        '[meta]\nmunicipality = "Раздел 1!$C$4"\n\n'
        '[cells]\n'
        '"special:ОВЗ.Всего" = "g12"\n'
        '"form:pairs:ученик - ученик.Всего" = "\'Раздел 2\'!D7"\n\n'
        '[cells."role:наставник"]\n"ОО" = "D8"\n"СПО" = "E8"\n"ДО" = "F8"\n"всего" = "G8"\n',
        encoding="utf-8")
    mapping = load_mapping(toml)
    assert ("form:pairs:ученик – ученик", "Всего") in mapping.cells
    out = tmp_path / "filled.xlsx"
    fill_official_form(figures, template, mapping, out, year=2026, municipality="=1+1")
    got = load_workbook(out)
    table = figures.set_index("row_key")
    ws = got["Раздел 1"]
    assert [ws[c].value for c in ("D8", "E8", "F8", "G8")] == [
        table.at["role:наставник", c] for c in VALUE_COLUMNS]
    assert ws["G12"].value == table.at["special:ОВЗ", "Всего"]
    assert got["Раздел 2"]["D7"].value == table.at["form:pairs:ученик – ученик", "Всего"]
    assert ws["C4"].value == "=1+1" and ws["C4"].data_type == "s"  # text, not a formula
    assert ws["C3"].value is None  # no year cell in this mapping


def test_bad_mapping_keys_are_named_in_russian(tmp_path):
    toml = tmp_path / "bad.toml"
    toml.write_text(
        '[form]\nsheet = "Лист1"\n[cells]\n'
        '"role:наставникк.Всего" = "D12"\n'
        '"role:наставник.Итого" = "D13"\n'
        '"role:наставляемый" = "D14"\n'
        '"role:наставляемый.ОО" = "A1:B2"\n', encoding="utf-8")
    with pytest.raises(MappingError) as err:
        load_mapping(toml)
    msg = err.value.message_ru
    assert "role:наставникк.Всего" in msg and "неизвестные ключи строк" in msg
    assert "role:наставник.Итого" in msg and "role:наставляемый" in msg
    assert "A1:B2" in msg and "неверные адреса ячеек" in msg
    assert str(err.value) == msg


@pytest.mark.parametrize("body, fragment", [
    ('[cells]\n"role:наставник.Всего" = "D0"\n', "D0"),
    ('[cells]\n"role:наставник.Всего" = "ZZZZ1"\n', "ZZZZ1"),
    ('[cells]\n"role:наставник.Всего" = 12\n', "12"),
    ('[cells]\n"role:наставник.Всего" = "D1"\n"role:наставляемый.Всего" = "d1"\n',
     "несколько значений"),
    ('[cells]\n"role:наставник.Всего" = "D1"\n[meta]\nyear = "D1"\n', "несколько значений"),
    ('[cells]\n"role:наставник.Всего" = "D1"\n[meta]\nregion = "B2"\n', "region"),
    ('[cell]\n"role:наставник.Всего" = "D1"\n', "[cell]"),
    ('[form]\nsheet = "Лист1"\n', "нет ни одной ячейки"),
    ('[cells\n', "ошибка синтаксиса TOML в строке 1"),
])
def test_bad_mappings(tmp_path, body, fragment):
    toml = tmp_path / "bad.toml"
    toml.write_text(body, encoding="utf-8")
    with pytest.raises(MappingError) as err:
        load_mapping(toml)
    assert fragment in err.value.message_ru


def test_missing_mapping_file(tmp_path):
    with pytest.raises(MappingError, match="не найден"):
        load_mapping(tmp_path / "нет.toml")


def test_unreadable_mapping_files_are_named_in_russian(tmp_path):
    """A folder, or a file saved in Windows-1251: a Russian reason, not Python's English."""
    with pytest.raises(MappingError) as err:
        load_mapping(tmp_path)
    assert "папка, а нужен файл соответствия" in err.value.message_ru
    cp1251 = tmp_path / "соответствие.toml"
    cp1251.write_bytes('[cells]\n"role:наставник.Всего" = "Г1"\n'.encode("cp1251"))
    with pytest.raises(MappingError) as err:
        load_mapping(cp1251)
    assert "не в кодировке UTF-8" in err.value.message_ru
    assert not any(word in err.value.message_ru for word in ("codec", "decode", "byte"))


def test_template_without_the_mapped_sheet(figures, tmp_path):
    template = tmp_path / "official.xlsx"
    build_official_template(template)
    toml = tmp_path / "m.toml"
    toml.write_text('[form]\nsheet = "Раздел 1"\n[cells]\n"role:наставник.Всего" = "G8"\n'
                    '"role:наставляемый.Всего" = "Раздел 3!G9"\n', encoding="utf-8")
    out = tmp_path / "filled.xlsx"
    with pytest.raises(MappingError) as err:
        fill_official_form(figures, template, load_mapping(toml), out, year=2026,
                           municipality=MUNICIPALITY)
    assert "«Раздел 3»" in err.value.message_ru and "Раздел 1" in err.value.message_ru
    assert not out.exists()


def test_merged_cell_that_is_not_the_top_left_is_refused(figures, tmp_path):
    template = tmp_path / "official.xlsx"
    build_official_template(template)
    toml = tmp_path / "m.toml"
    toml.write_text('[form]\nsheet = "Раздел 1"\n[cells]\n"role:наставник.Всего" = "E4"\n',
                    encoding="utf-8")
    with pytest.raises(MappingError, match="объединённую"):
        fill_official_form(figures, template, load_mapping(toml), tmp_path / "o.xlsx",
                           year=2026, municipality=MUNICIPALITY)


def test_the_template_is_never_overwritten(figures, tmp_path):
    template = tmp_path / "official.xlsx"
    build_official_template(template)
    before = sha256(template)
    with pytest.raises(FederalFormError, match="поверх шаблона"):
        fill_official_form(figures, template, load_mapping(EXAMPLE_MAPPING), template,
                           year=2026, municipality=MUNICIPALITY)
    assert sha256(template) == before


def test_example_mapping_covers_known_keys_and_cells_parse():
    mapping = load_mapping(EXAMPLE_MAPPING)
    keys = set(known_row_keys())
    assert {k for k, _ in mapping.cells} <= keys
    assert {"role:наставник", "role:наставляемый", "special:ОВЗ"} <= {k for k, _ in mapping.cells}
    assert set(mapping.meta) == {"year", "municipality"}
    assert parse_cell("'Раздел 2'!$d$7").sheet == "Раздел 2"
    assert parse_cell("Лист1!D12").coordinate == "D12"
    assert parse_cell("XFE1") is None and parse_cell("D1048577") is None
