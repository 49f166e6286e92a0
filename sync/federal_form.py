"""The federal statistics form «Сведения о численности участников программ наставничества».

Two ways to render the figures table of ``sync.figures.federal_figures``:

* ``write_default_form`` — our own layout (xlsxwriter): title, year, municipality, the period
  the data are taken from, and the table Раздел / Показатель / ОО / СПО / ДО / Всего.
* ``fill_official_form`` — the official template of the year, as the ministry sends it, filled
  through a cell mapping (TOML, see ``federal_mapping.example.toml``): each mapped figure is
  written as a number into its cell, the template's styles kept, the template itself untouched.

Both save atomically (a temporary file in the target folder, then ``os.replace``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter
from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.utils.cell import column_index_from_string

from addin.atomic_file import replacing
from sync.consolidate import PAIR_COLUMNS, PARTICIPANT_COLUMNS
from sync.figures import COLUMNS as FIGURE_COLUMNS
from sync.figures import ORG_TYPES, TOTAL, federal_figures

DEFAULT_TITLE = "Сведения о численности участников программ наставничества"
EXAMPLE_MAPPING = Path(__file__).with_name("federal_mapping.example.toml")
#: Columns of the figures table a mapping can address.
VALUE_COLUMNS: tuple[str, ...] = (*ORG_TYPES, TOTAL)
META_FIELDS = ("year", "municipality")
SHEET_NAME = "Сведения"
KEY_HEADER = "Ключ строки (для файла соответствия)"
#: Where each figure comes from: the master's trace sheet lists the records by the row key.
TRACE_NOTE = ("Из каких записей сложено каждое число — лист «Расшифровка» сводной книги "
              "(по ключу строки в последнем столбце).")
MONTHS_RU = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
             "сентябрь", "октябрь", "ноябрь", "декабрь")
EXCEL_MAX_ROW, EXCEL_MAX_COL = 1_048_576, 16_384


class FederalFormError(Exception):
    """The form cannot be produced; ``message_ru`` says why and what to do."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


class MappingError(FederalFormError):
    """The cell mapping does not fit the figures or the template."""


# ------------------------------------------------------------------------------- helpers
def known_row_keys() -> list[str]:
    """Every row key the figures table has (whatever the data), in table order."""
    empty = federal_figures(pd.DataFrame(columns=PARTICIPANT_COLUMNS),
                            pd.DataFrame(columns=PAIR_COLUMNS), {})
    return [str(k) for k in empty["row_key"]]


def period_ru(period: str) -> str:
    """«ноябрь 2026 г. (2026-11)» for '2026-11'; the text itself when it is not ГГГГ-ММ."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", str(period).strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        return str(period)
    return f"{MONTHS_RU[int(m.group(2)) - 1]} {m.group(1)} г. ({period})"


def _atomic_save(out: Path, save: Callable[[Path], None]) -> Path:
    """Call ``save(tmp)`` on a temporary file beside ``out``, then move it over ``out``."""
    with replacing(Path(out)) as tmp:
        save(tmp)
    return Path(out)


def _check_figures(figures: pd.DataFrame) -> None:
    missing = [c for c in FIGURE_COLUMNS if c not in figures.columns]
    if missing:
        raise FederalFormError(
            "В таблице численности нет столбцов: " + ", ".join(missing) + ".")


# ------------------------------------------------------------------------------- default form
def write_default_form(figures: pd.DataFrame, out: Path, *, year: int, municipality: str,
                       period: str) -> Path:
    """Our own layout of the form: one sheet, the figures table with a header block."""
    _check_figures(figures)

    def save(path: Path) -> None:
        wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                             "strings_to_numbers": False,
                                             "strings_to_urls": False})
        try:
            _write_default_sheet(wb, figures, year=year, municipality=municipality,
                                 period=period)
        finally:
            wb.close()

    return _atomic_save(Path(out), save)


def _write_default_sheet(wb: xlsxwriter.Workbook, figures: pd.DataFrame, *, year: int,
                         municipality: str, period: str) -> None:
    ws = wb.add_worksheet(SHEET_NAME)
    title = wb.add_format({"bold": True, "font_size": 14, "text_wrap": True,
                           "align": "center", "valign": "vcenter"})
    caption = wb.add_format({"bold": True})
    head = wb.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", "text_wrap": True,
                          "align": "center", "valign": "vcenter"})
    text = wb.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    number = wb.add_format({"border": 1, "num_format": "0", "valign": "top"})
    total = wb.add_format({"border": 1, "num_format": "0", "bold": True, "valign": "top"})
    key = wb.add_format({"font_color": "#808080", "font_size": 8, "valign": "top"})

    ws.merge_range(0, 0, 0, 5, DEFAULT_TITLE, title)
    ws.set_row(0, 36)
    for row, (label, value) in enumerate((
            ("Отчётный год:", year),
            ("Муниципальное образование:", municipality),
            ("Данные за период:", period_ru(period))), start=1):
        ws.write_string(row, 0, label, caption)
        if isinstance(value, int):
            ws.write_number(row, 1, value)
        else:
            ws.write_string(row, 1, str(value or ""))
    ws.write_string(4, 0, TRACE_NOTE, key)
    header_row = 5
    for col, name in enumerate(("Раздел", "Показатель", *VALUE_COLUMNS, KEY_HEADER)):
        ws.write_string(header_row, col, name, head if col <= 5 else key)
    for i, rec in enumerate(figures[FIGURE_COLUMNS].itertuples(index=False), start=1):
        row = dict(zip(FIGURE_COLUMNS, rec, strict=True))
        r = header_row + i
        ws.write_string(r, 0, str(row["section"]), text)
        ws.write_string(r, 1, str(row["label"]), text)
        for j, col in enumerate(VALUE_COLUMNS):
            ws.write_number(r, 2 + j, int(row[col]), total if col == TOTAL else number)
        ws.write_string(r, 6, str(row["row_key"]), key)
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 48)
    ws.set_column(2, 5, 10)
    ws.set_column(6, 6, 44)
    ws.freeze_panes(header_row + 1, 0)
    ws.repeat_rows(header_row)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.print_area(0, 0, header_row + len(figures), 5)


# ------------------------------------------------------------------------------- mapping
@dataclass(frozen=True)
class CellRef:
    """A cell of the official template; ``sheet`` None means the mapping's default sheet."""

    sheet: str | None
    coordinate: str  # "D12", upper case, without '$'

    def __str__(self) -> str:
        return f"{self.sheet}!{self.coordinate}" if self.sheet else self.coordinate


@dataclass
class Mapping:
    """Where the official template of a year wants each figure."""

    sheet: str
    #: (row_key, column) -> cell
    cells: dict[tuple[str, str], CellRef] = field(default_factory=dict)
    #: "year" / "municipality" -> cell
    meta: dict[str, CellRef] = field(default_factory=dict)
    year: int | None = None  # the form year the mapping was written for (informational)
    source: str = ""

    def sheet_of(self, ref: CellRef) -> str:
        return ref.sheet or self.sheet


_CELL_RE = re.compile(r"\$?([A-Za-z]{1,3})\$?([1-9][0-9]{0,6})")
_FORM_KEYS = {"sheet", "year", "description"}
_TOP_KEYS = {"form", "cells", "meta"}


def parse_cell(text: Any) -> CellRef | None:
    """'D12', '$D$12', 'Лист1!D12', "'Раздел 1'!D12" -> CellRef; None if it is not one cell."""
    if not isinstance(text, str):
        return None
    raw = text.strip()
    sheet: str | None = None
    if "!" in raw:
        sheet, raw = raw.rsplit("!", 1)
        sheet = sheet.strip()
        if len(sheet) >= 2 and sheet[0] == sheet[-1] == "'":
            sheet = sheet[1:-1].replace("''", "'")
        if not sheet:
            return None
    m = _CELL_RE.fullmatch(raw.strip())
    if not m:
        return None
    col, row = m.group(1).upper(), int(m.group(2))
    if column_index_from_string(col) > EXCEL_MAX_COL or row > EXCEL_MAX_ROW:
        return None
    return CellRef(sheet, f"{col}{row}")


def _column_of(name: str) -> str | None:
    for c in VALUE_COLUMNS:
        if name.strip().casefold() == c.casefold():
            return c
    return None


def _key_norm(key: str) -> str:
    """Row keys as people type them: any dash, «е» for «ё», any case and spacing."""
    key = re.sub(r"\s*[-‐‑‒–—]\s*", " – ", key.strip())
    return re.sub(r"\s+", " ", key).replace("ё", "е").replace("Ё", "Е").casefold()


def _flatten_cells(cells: dict[str, Any]) -> list[tuple[str, Any]]:
    """TOML keys as written: "role:наставник.Всего" = …, or a sub-table per row key."""
    out: list[tuple[str, Any]] = []
    for k, v in cells.items():
        if isinstance(v, dict):
            out.extend((f"{k}.{col}", ref) for col, ref in v.items())
        else:
            out.append((k, v))
    return out


def load_mapping(path: Path, *, row_keys: list[str] | None = None) -> Mapping:
    """Read and check a mapping file; every problem found is listed in one MappingError."""
    path = Path(path)
    name = path.name
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise MappingError(f"Файл соответствия ячеек не найден: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"line (\d+), column (\d+)", str(exc))
        at = f" в строке {where.group(1)}, позиция {where.group(2)}" if where else ""
        raise MappingError(
            f"Файл соответствия {name} — ошибка синтаксиса TOML{at}. Ключи и адреса "
            "пишутся в кавычках: \"role:наставник.Всего\" = \"D12\". Сравните с примером "
            "federal_mapping.example.toml.") from None
    except UnicodeDecodeError:
        raise MappingError(f"Файл соответствия {name} не в кодировке UTF-8: сохраните его в "
                           "UTF-8 (в Блокноте: «Сохранить как» → «Кодировка: UTF-8»).") from None
    except IsADirectoryError:
        raise MappingError(f"{path} — папка, а нужен файл соответствия (.toml).") from None
    except OSError as exc:
        raise MappingError(f"Не удалось прочитать файл соответствия {name} (код ошибки "
                           f"{exc.errno}): проверьте, что файл доступен для чтения.") from None

    problems: list[str] = []
    unknown_top = sorted(set(data) - _TOP_KEYS)
    if unknown_top:
        problems.append("неизвестные разделы: " + ", ".join(f"[{k}]" for k in unknown_top)
                        + " (допустимы [form], [cells], [meta])")
    form = data.get("form", {})
    cells = data.get("cells", {})
    meta = data.get("meta", {})
    for section, value in (("form", form), ("cells", cells), ("meta", meta)):
        if not isinstance(value, dict):
            problems.append(f"[{section}] должен быть разделом (таблицей TOML)")
    if problems:
        raise MappingError(f"Файл соответствия {name}: " + "; ".join(problems) + ".")

    unknown_form = sorted(set(form) - _FORM_KEYS)
    if unknown_form:
        problems.append("в [form] неизвестные ключи: " + ", ".join(unknown_form))
    sheet = form.get("sheet", "Лист1")
    if not isinstance(sheet, str) or not sheet.strip():
        problems.append("[form] sheet должен быть названием листа (строкой)")
        sheet = "Лист1"
    year = form.get("year")
    if year is not None and not (isinstance(year, int) and 2000 <= year <= 2100):
        problems.append(f"[form] year должен быть годом, а не «{year}»")
        year = None

    known = {_key_norm(k): k for k in (row_keys if row_keys is not None else known_row_keys())}
    bad_keys: list[str] = []
    bad_columns: list[str] = []
    bad_cells: list[str] = []
    twice: list[str] = []
    mapped: dict[tuple[str, str], CellRef] = {}
    for key, ref_text in _flatten_cells(cells):
        row_key, dot, column = key.rpartition(".")
        col = _column_of(column) if dot else None
        if not dot or col is None:
            bad_columns.append(key)
            continue
        if _key_norm(row_key) not in known:
            bad_keys.append(key)
            continue
        row_key = known[_key_norm(row_key)]
        ref = parse_cell(ref_text)
        if ref is None:
            bad_cells.append(f"«{key}» = {ref_text!r}")
            continue
        if (row_key, col) in mapped:
            twice.append(f"«{row_key}.{col}»")
        mapped[(row_key, col)] = ref
    if bad_keys:
        problems.append("неизвестные ключи строк: " + ", ".join(f"«{k}»" for k in bad_keys)
                        + " (ключи строк — в последнем столбце формы по умолчанию и в примере "
                        "federal_mapping.example.toml)")
    if twice:
        problems.append("один показатель указан дважды: " + ", ".join(twice))
    if bad_columns:
        problems.append("не указан или неизвестен столбец: "
                        + ", ".join(f"«{k}»" for k in bad_columns)
                        + " (ключ пишется как «<ключ строки>.<столбец>», столбец — один из: "
                        + ", ".join(VALUE_COLUMNS) + ")")

    meta_refs: dict[str, CellRef] = {}
    unknown_meta = sorted(set(meta) - set(META_FIELDS))
    if unknown_meta:
        problems.append("в [meta] неизвестные ключи: " + ", ".join(f"«{k}»" for k in unknown_meta)
                        + " (допустимы: " + ", ".join(META_FIELDS) + ")")
    for k in META_FIELDS:
        if k in meta:
            ref = parse_cell(meta[k])
            if ref is None:
                bad_cells.append(f"[meta] «{k}» = {meta[k]!r}")
            else:
                meta_refs[k] = ref
    if bad_cells:
        problems.append("неверные адреса ячеек: " + ", ".join(bad_cells)
                        + " (нужен адрес одной ячейки: «D12» или «Лист!D12»)")

    targets: dict[tuple[str, str], list[str]] = {}
    for (row_key, col), ref in mapped.items():
        targets.setdefault((ref.sheet or sheet, ref.coordinate), []).append(f"{row_key}.{col}")
    for k, ref in meta_refs.items():
        targets.setdefault((ref.sheet or sheet, ref.coordinate), []).append(f"[meta] {k}")
    clashes = [f"{s}!{c}: " + ", ".join(keys) for (s, c), keys in targets.items()
               if len(keys) > 1]
    if clashes:
        problems.append("в одну ячейку указано несколько значений: " + "; ".join(clashes))
    if not mapped and not problems:
        problems.append("в разделе [cells] нет ни одной ячейки")
    if problems:
        raise MappingError(f"Файл соответствия {name}: " + "; ".join(problems) + ".")
    return Mapping(sheet=sheet.strip(), cells=mapped, meta=meta_refs, year=year,
                   source=str(path))


# ------------------------------------------------------------------------------- official form
def fill_official_form(figures: pd.DataFrame, template: Path, mapping: Mapping, out: Path, *,
                       year: int, municipality: str) -> Path:
    """Fill a copy of the official template through the mapping; the template stays as it was.

    openpyxl keeps cell styles, merged cells, data validations and (with .xlsm) the macros of
    the template; it drops pictures and charts, which official statistics forms do not use.
    """
    _check_figures(figures)
    template, out = Path(template), Path(out)
    suffix = template.suffix.lower()
    if suffix not in (".xlsx", ".xlsm"):
        raise FederalFormError(
            f"Шаблон формы {template.name}: нужен файл .xlsx или .xlsm. Откройте его в Excel или "
            "LibreOffice и сохраните как «Книга Excel (.xlsx)».")
    if not template.is_file():
        raise FederalFormError(f"Шаблон формы не найден: {template}")
    if out.suffix.lower() != suffix:
        raise FederalFormError(
            f"Заполненная форма должна иметь то же расширение, что и шаблон ({suffix}), "
            f"а указано «{out.name}».")
    if out.resolve() == template.resolve():
        raise FederalFormError(
            "Заполненную форму нельзя записать поверх шаблона: укажите другой файл.")

    values = _figure_values(figures, mapping)
    try:
        wb = load_workbook(template, keep_vba=suffix == ".xlsm")
    except Exception as exc:  # a corrupt or foreign file: say so, no traceback
        raise FederalFormError(
            f"Не удалось открыть шаблон формы {template.name}: {exc}") from None
    try:
        refs = [(mapping.sheet_of(ref), ref.coordinate) for ref in
                [*mapping.cells.values(), *mapping.meta.values()]]
        missing = sorted({s for s, _ in refs if s not in wb.sheetnames})
        if missing:
            raise MappingError(
                f"В шаблоне {template.name} нет листов: " + ", ".join(f"«{s}»" for s in missing)
                + ". Листы шаблона: " + ", ".join(f"«{s}»" for s in wb.sheetnames)
                + f". Исправьте [form] sheet или адреса в файле соответствия "
                f"{Path(mapping.source).name or ''}.")
        merged = [f"{s}!{c}" for s, c in refs if isinstance(wb[s][c], MergedCell)]
        if merged:
            raise MappingError(
                "Ячейки входят в объединённую область, но не являются её левой верхней "
                "ячейкой: " + ", ".join(merged) + ". Укажите левую верхнюю ячейку области.")
        for (row_key, col), ref in mapping.cells.items():
            wb[mapping.sheet_of(ref)][ref.coordinate].value = values[(row_key, col)]
        for k, ref in mapping.meta.items():
            cell = wb[mapping.sheet_of(ref)][ref.coordinate]
            if k == "year":
                cell.value = int(year)
            else:
                cell.value = str(municipality or "")
                cell.data_type = "s"  # a name beginning with '=' stays text
        wb.calculation.fullCalcOnLoad = True  # the template's own totals recompute on open
        return _atomic_save(out, lambda tmp: wb.save(tmp))
    finally:
        wb.close()


def _figure_values(figures: pd.DataFrame, mapping: Mapping) -> dict[tuple[str, str], int]:
    table = figures.set_index(figures["row_key"].astype(str))
    absent = sorted({row_key for row_key, _ in mapping.cells if row_key not in table.index})
    if absent:
        raise MappingError(
            "В таблице численности нет строк: " + ", ".join(f"«{k}»" for k in absent)
            + ". Обновите файл соответствия под текущую версию программы.")
    return {(row_key, col): int(table.at[row_key, col]) for row_key, col in mapping.cells}
