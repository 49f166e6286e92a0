"""Build the school workbook from the contract, empty (the template) or filled with data.

Everything a user reads on a sheet (names, headers, help, dictionaries) comes from
``workbook_templates.contract``; this module only decides the layout and the styling:

* TABLE and OUTPUT sheets: header in ``HEADER_ROW``, records from ``FIRST_DATA_ROW``.
* The FORM sheet: a header row (``FORM_HEADERS``), then one row per field in contract order,
  label in column A, value in column B, help in column C.
* Справочники (hidden): one column per dictionary in ``DICTIONARIES`` order, title in row 1,
  values from row 2. Drop-downs point at these ranges.
* Инструкция: prose built from the contract, and the template version in column B of the row
  whose column A holds ``VERSION_LABEL``.

The output of ``write_school_workbook`` is byte-stable: fixed document dates and fixed zip
entry timestamps.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from workbook_templates import contract as C
from workbook_templates.contract import ColType, Column, Sheet, SheetKind

#: Values a caller may put into a cell.
CellValue = str | int | float | dt.date | None
#: Data of a filled workbook: sheet key -> {field key: value} (FORM) or [{column key: value}].
SchoolData = dict[str, dict[str, object] | list[dict[str, object]]]

#: Header labels of the FORM sheet (field / value / explanation).
FORM_HEADERS: tuple[str, str, str] = ("Сведения", "Значение", "Пояснение")
FORM_WIDTHS: tuple[int, int, int] = (45, 30, 70)
#: Column of the FORM sheet that holds the values (B).
FORM_VALUE_COLUMN = 2

#: Last row covered by validations and column formats in the template.
LAST_TEMPLATE_ROW = 1001
DATE_FORMAT = "DD.MM.YYYY"
TEXT_FORMAT = "@"
DATE_MIN_FORMULA = "DATE(1900,1,1)"
DATE_MAX_FORMULA = "DATE(2100,12,31)"
#: Upper bound of an INTEGER column that has a minimum but no maximum.
DEFAULT_INTEGER_MAX = 1_000_000
#: Bound used for a side of a numeric range the contract leaves open.
OPEN_BOUND = 1_000_000_000

#: Fixed document metadata and zip timestamps: the same input gives the same bytes.
FIXED_TIMESTAMP = dt.datetime(2026, 1, 1, 0, 0, 0)
CREATOR = "nastavnik"
COMMENT_AUTHOR = "nastavnik"

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill(fill_type="solid", start_color="FFDDEBF7", end_color="FFDDEBF7")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center")
WRAP_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
TITLE_FONT = Font(bold=True, size=14)
SECTION_FONT = Font(bold=True, size=12)

#: Text-like column types: their cells get the text format, so that Excel keeps «1.10»,
#: «2026-11» or «Н-001» exactly as typed instead of turning them into numbers or dates.
TEXT_TYPES = frozenset({ColType.TEXT, ColType.ID, ColType.REF, ColType.REFS, ColType.PERIOD})
DICTIONARY_TYPES = frozenset({ColType.ENUM, ColType.YESNO})
#: Sheet kinds that take data in build_school_workbook.
_WRITABLE_KINDS = (SheetKind.FORM, SheetKind.TABLE, SheetKind.OUTPUT)

HINT_DATE = "Формат: ДД.ММ.ГГГГ."
HINT_LIST = "Выберите из списка."

INSTRUCTIONS_COLUMN_WIDTHS: tuple[int, int] = (40, 100)
INSTRUCTIONS_TITLE = "Наставничество в образовательной организации: рабочая книга"
INSTRUCTIONS_ABOUT = (
    "Стандартная книга учёта целевой модели наставничества (распоряжение Минпросвещения России "
    "от 25.12.2019 № Р-145). В ней ведутся дорожная карта, базы наставников и наставляемых, "
    "пары и группы, встречи и мониторинг. По этим данным программа проверяет книгу, считает "
    "показатели внедрения и собирает муниципальный свод."
)
INSTRUCTIONS_RULES = (
    "Не переименовывайте листы и заголовки столбцов: программа находит их по названию. "
    "Свои столбцы можно добавлять справа, программа их не читает. На листах-таблицах одна "
    "строка — одна запись, начиная со второй строки. Даты вводите в формате ДД.ММ.ГГГГ. "
    "Значения столбцов с выпадающим списком выбирайте из списка. Пояснение к столбцу — "
    "в примечании к его заголовку."
)


# ----------------------------------------------------------------------------- public API


def build_school_workbook(data: SchoolData | None = None) -> Workbook:
    """The school workbook: the empty template when ``data`` is None, else filled with it."""
    data = data or {}
    _check_data_keys(data)
    wb = Workbook()
    wb.remove(wb.active)
    dictionary_ranges = _dictionary_ranges()
    for sheet in C.SHEETS:
        ws = wb.create_sheet(sheet.name)
        if sheet.kind is SheetKind.TEXT:
            _build_instructions(ws)
        elif sheet.kind is SheetKind.FORM:
            _build_form(ws, sheet, dictionary_ranges, _form_data(sheet, data.get(sheet.key)))
        elif sheet.kind in (SheetKind.TABLE, SheetKind.OUTPUT):
            _build_table(ws, sheet, dictionary_ranges, _table_data(sheet, data.get(sheet.key)))
        else:
            _build_dictionaries(ws)
    wb.active = 0
    _set_version_name(wb)
    _set_properties(wb)
    return wb


def write_school_workbook(path: str | Path, data: SchoolData | None = None) -> Path:
    """Write the school workbook to ``path`` atomically; identical input gives identical bytes."""
    path = Path(path)
    payload = workbook_bytes(build_school_workbook(data))
    write_atomically(path, payload)
    return path


def workbook_bytes(wb: Workbook) -> bytes:
    """Serialize ``wb`` as .xlsx with fixed zip timestamps (no wall-clock time in the file)."""
    buf = io.BytesIO()
    archive = _FixedTimeZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(wb, archive).save()  # unlike save_workbook, keeps properties.modified
    return buf.getvalue()


def dictionary_range(key: str) -> str:
    """Absolute reference of a dictionary's values on Справочники, e.g. 'Справочники'!$C$2:$C$7."""
    return _dictionary_ranges()[key]


# ------------------------------------------------------------------------------ helpers


class _FixedTimeZipFile(zipfile.ZipFile):
    """A ZipFile whose entries written by name carry FIXED_TIMESTAMP instead of the clock."""

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        """Write ``data`` under a ZipInfo with a fixed date when given a bare name."""
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=FIXED_TIMESTAMP.timetuple()[:6])
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        """Add a file's bytes with a fixed date instead of the file's mtime (worksheets)."""
        data = Path(filename).read_bytes()
        name = arcname if arcname is not None else Path(filename).name
        self.writestr(name, data, compress_type, compresslevel)


def write_atomically(path: Path, payload: bytes) -> None:
    """Write ``payload`` to a temp file beside ``path`` and rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _set_properties(wb: Workbook) -> None:
    """Fixed creator and dates so that two builds are byte-identical."""
    wb.properties.creator = CREATOR
    wb.properties.lastModifiedBy = CREATOR
    wb.properties.created = FIXED_TIMESTAMP
    wb.properties.modified = FIXED_TIMESTAMP
    wb.properties.title = INSTRUCTIONS_TITLE


def _set_version_name(wb: Workbook) -> None:
    """The workbook-level defined name carrying the template version as a string constant."""
    text = '"' + C.TEMPLATE_VERSION.replace('"', '""') + '"'
    wb.defined_names[C.VERSION_DEFINED_NAME] = DefinedName(C.VERSION_DEFINED_NAME, attr_text=text)


def _check_data_keys(data: Mapping[str, object]) -> None:
    """Reject data for sheets that do not exist or do not take data."""
    writable = {s.key for s in C.SHEETS if s.kind in _WRITABLE_KINDS}
    unknown = sorted(set(data) - writable)
    if unknown:
        raise ValueError(f"no writable sheet with key(s) {unknown}; known: {sorted(writable)}")


def _check_columns(sheet: Sheet, keys: Iterable[str]) -> None:
    """Reject column keys the contract does not declare for ``sheet``."""
    unknown = sorted(set(keys) - set(sheet.headers))
    if unknown:
        raise ValueError(f"sheet {sheet.key!r} has no column(s) {unknown}")


def _form_data(sheet: Sheet, values: object) -> Mapping[str, object]:
    """The field values of a FORM sheet, checked against the contract."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise TypeError(f"sheet {sheet.key!r} is a form: expected a dict of field values")
    _check_columns(sheet, values)
    return values


def _table_data(sheet: Sheet, rows: object) -> Sequence[Mapping[str, object]]:
    """The rows of a TABLE/OUTPUT sheet, checked against the contract."""
    if rows is None:
        return ()
    if isinstance(rows, Mapping | str) or not isinstance(rows, Sequence):
        raise TypeError(f"sheet {sheet.key!r} is a table: expected a list of row dicts")
    for row in rows:
        _check_columns(sheet, row)
    return rows


def _clean_value(value: object, col: Column) -> CellValue:
    """Normalize one value: NaN/NaT -> empty, bool -> да/нет, strip characters xlsx forbids."""
    if value is None:
        return None
    if isinstance(value, bool):
        return C.YES if value else C.NO
    if isinstance(value, float | dt.date) and value != value:  # NaN, pandas NaT
        return None
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, int | float | dt.date):
        return value
    raise TypeError(f"column {col.key!r}: unsupported value type {type(value).__name__}")


def _put(cell: Cell, value: object, col: Column) -> None:
    """Write one value: strings always as strings, dates as date cells in ДД.ММ.ГГГГ."""
    value = _clean_value(value, col)
    if value is None:
        return
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, even for "=1+1"
    elif isinstance(value, dt.date):
        cell.number_format = DATE_FORMAT
        return
    fmt = _column_format(col)
    if fmt is not None:
        cell.number_format = fmt


def _column_format(col: Column) -> str | None:
    """Number format of the cells of ``col``: dates, text, or None (General)."""
    if col.type is ColType.DATE:
        return DATE_FORMAT
    if col.type in TEXT_TYPES:
        return TEXT_FORMAT
    return None


def _type_hint(col: Column) -> str:
    """A short hint about how to type values of ``col`` (empty for free text)."""
    if col.type is ColType.DATE:
        return HINT_DATE
    if col.type in DICTIONARY_TYPES:
        return HINT_LIST
    return ""


def _help_text(col: Column) -> str:
    """Help of ``col`` followed by its type hint."""
    return " ".join(part for part in (col.help, _type_hint(col)) if part)


def _style_header(cell: Cell) -> None:
    """Bold, filled, wrapped header cell."""
    cell.font = HEADER_FONT
    cell.fill = HEADER_FILL
    cell.alignment = HEADER_ALIGNMENT


def _header_comment(col: Column) -> Comment | None:
    """Comment for a header cell: the column help plus its type hint; None without help."""
    if not col.help:
        return None
    text = _help_text(col)
    comment = Comment(text, COMMENT_AUTHOR)
    comment.width = 300
    comment.height = 40 + 18 * (len(text) // 45 + 1)
    return comment


# ------------------------------------------------------------------------- dictionaries


def _dictionary_ranges() -> dict[str, str]:
    """Dictionary key -> absolute range of its values on the Справочники sheet."""
    quoted = quote_sheetname(C.DICTIONARY_SHEET.name)
    if not quoted.startswith("'"):  # always quote: the sheet name is not ASCII
        quoted = f"'{quoted}'"
    ranges = {}
    for index, (key, (_title, values)) in enumerate(C.DICTIONARIES.items(), start=1):
        letter = get_column_letter(index)
        last = C.FIRST_DATA_ROW + len(values) - 1
        ranges[key] = f"{quoted}!${letter}${C.FIRST_DATA_ROW}:${letter}${last}"
    return ranges


def _build_dictionaries(ws: Worksheet) -> None:
    """Hidden sheet with one column per dictionary: title in row 1, values below."""
    ws.sheet_state = "hidden"
    for index, (title, values) in enumerate(C.DICTIONARIES.values(), start=1):
        header = ws.cell(row=C.HEADER_ROW, column=index, value=title)
        _style_header(header)
        for offset, value in enumerate(values):
            ws.cell(row=C.FIRST_DATA_ROW + offset, column=index).value = value
        ws.column_dimensions[get_column_letter(index)].width = 28


# -------------------------------------------------------------------------- validations


def _validation(col: Column, ranges: Mapping[str, str]) -> DataValidation | None:
    """The data validation for cells of ``col``, or None for free text."""
    if col.type in DICTIONARY_TYPES:
        return _list_validation(col, ranges)
    if col.type is ColType.DATE:
        return DataValidation(
            type="date", operator="between", formula1=DATE_MIN_FORMULA,
            formula2=DATE_MAX_FORMULA, allow_blank=True, showErrorMessage=True,
            errorTitle="Неверная дата", error="Введите дату в формате ДД.ММ.ГГГГ",
        )
    if col.type in (ColType.INTEGER, ColType.NUMBER):
        return _number_validation(col)
    return None


def _list_validation(col: Column, ranges: Mapping[str, str]) -> DataValidation | None:
    """Drop-down from the column's dictionary on Справочники."""
    key = col.dictionary or ("yesno" if col.type is ColType.YESNO else None)
    if key is None:
        return None
    title = C.DICTIONARIES[key][0]
    return DataValidation(
        type="list", formula1=ranges[key], allow_blank=True, showErrorMessage=True,
        errorTitle="Недопустимое значение",
        error=f"Выберите значение из списка «{title}».",
    )


def _number_validation(col: Column) -> DataValidation:
    """Whole or decimal number between the column's bounds (open sides get wide defaults)."""
    is_int = col.type is ColType.INTEGER
    low = col.min if col.min is not None else -OPEN_BOUND
    if col.max is not None:
        high = col.max
    else:
        high = DEFAULT_INTEGER_MAX if is_int and col.min is not None else OPEN_BOUND
    kind = "целое число" if is_int else "число"
    return DataValidation(
        type="whole" if is_int else "decimal", operator="between",
        formula1=_fmt_number(low), formula2=_fmt_number(high), allow_blank=True,
        showErrorMessage=True, errorTitle="Неверное число",
        error=f"Введите {kind} от {_fmt_number(low)} до {_fmt_number(high)}.",
    )


def _fmt_number(value: float) -> str:
    """A bound as a formula literal: 10 rather than 10.0."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# ------------------------------------------------------------------------------- sheets


def _build_table(ws: Worksheet, sheet: Sheet, ranges: Mapping[str, str],
                 rows: Sequence[Mapping[str, object]]) -> None:
    """Header row, column layout, validations (input sheets only) and the data rows."""
    for index, col in enumerate(sheet.columns, start=1):
        cell = ws.cell(row=C.HEADER_ROW, column=index, value=col.header)
        _style_header(cell)
        cell.comment = _header_comment(col)
        ws.column_dimensions[get_column_letter(index)].width = col.width
    last_row = max(C.HEADER_ROW, C.FIRST_DATA_ROW + len(rows) - 1)
    if sheet.kind is SheetKind.TABLE:
        _table_layout(ws, sheet, ranges, max(LAST_TEMPLATE_ROW, last_row))
    for offset, row in enumerate(rows):
        _write_row(ws, sheet, C.FIRST_DATA_ROW + offset, row)
    ws.freeze_panes = f"A{C.FIRST_DATA_ROW}"
    last_col = get_column_letter(len(sheet.columns))
    ws.auto_filter.ref = f"A{C.HEADER_ROW}:{last_col}{last_row}"


def _table_layout(ws: Worksheet, sheet: Sheet, ranges: Mapping[str, str], last: int) -> None:
    """Column number formats and one validation per column over rows FIRST_DATA_ROW..last."""
    for index, col in enumerate(sheet.columns, start=1):
        letter = get_column_letter(index)
        fmt = _column_format(col)
        if fmt is not None:
            ws.column_dimensions[letter].number_format = fmt
        dv = _validation(col, ranges)
        if dv is not None:
            dv.add(f"{letter}{C.FIRST_DATA_ROW}:{letter}{last}")
            ws.add_data_validation(dv)


def _write_row(ws: Worksheet, sheet: Sheet, row: int, values: Mapping[str, object]) -> None:
    """Write one record; keys missing from ``values`` stay empty."""
    for index, col in enumerate(sheet.columns, start=1):
        if col.key in values:
            _put(ws.cell(row=row, column=index), values[col.key], col)


def _build_form(ws: Worksheet, sheet: Sheet, ranges: Mapping[str, str],
                values: Mapping[str, object]) -> None:
    """Header row, then one row per field: label (A), value (B), help (C)."""
    for index, (label, width) in enumerate(zip(FORM_HEADERS, FORM_WIDTHS, strict=True), 1):
        _style_header(ws.cell(row=C.HEADER_ROW, column=index, value=label))
        ws.column_dimensions[get_column_letter(index)].width = width
    for offset, col in enumerate(sheet.columns):
        row = C.FIRST_DATA_ROW + offset
        label = ws.cell(row=row, column=1, value=col.header)
        label.font = HEADER_FONT
        label.alignment = WRAP_ALIGNMENT
        value_cell = ws.cell(row=row, column=FORM_VALUE_COLUMN)
        fmt = _column_format(col)
        if fmt is not None:
            value_cell.number_format = fmt
        if col.key in values:
            _put(value_cell, values[col.key], col)
        help_cell = ws.cell(row=row, column=3, value=_help_text(col) or None)
        help_cell.alignment = WRAP_ALIGNMENT
        dv = _validation(col, ranges)
        if dv is not None:
            dv.add(value_cell.coordinate)
            ws.add_data_validation(dv)
    ws.freeze_panes = f"A{C.FIRST_DATA_ROW}"


def _instruction_rows() -> list[tuple[str, str, Font | None]]:
    """(column A, column B, font of A) rows of the Инструкция sheet, built from the contract."""
    rows: list[tuple[str, str, Font | None]] = [
        (INSTRUCTIONS_TITLE, "", TITLE_FONT),
        (C.VERSION_LABEL, C.TEMPLATE_VERSION, HEADER_FONT),
        ("", "", None),
        ("Что это за книга", INSTRUCTIONS_ABOUT, HEADER_FONT),
        ("Как заполнять", INSTRUCTIONS_RULES, HEADER_FONT),
        ("", "", None),
        ("Листы книги", "", SECTION_FONT),
    ]
    for sheet in C.SHEETS:
        text = " ".join(part for part in (sheet.purpose, sheet.how_to_fill) if part)
        rows.append((sheet.name, text, HEADER_FONT))
    rows += [("", "", None), ("Календарь отчётности", "", SECTION_FONT)]
    rows += [(item.what, item.when, None) for item in C.CALENDAR]
    rows += [("", "", None), ("Как проверить книгу", _how_to_check(), SECTION_FONT)]
    return rows


def _how_to_check() -> str:
    """The paragraph about the «Проверить» and «Показатели» buttons and the check page."""
    check, indicators = C.CHECK.name, C.INDICATORS.name
    return (
        f"Нажмите кнопку «Проверить»: замечания появятся на листе «{check}», щелчок по строке "
        f"замечания ведёт к ячейке. Кнопка «Показатели» заполняет лист «{indicators}». "
        "Если кнопки недоступны (LibreOffice, Р7-Офис, МойОфис, Google Таблицы без надстройки), "
        "откройте в браузере страницу проверки, адрес которой сообщит муниципальный центр "
        "наставничества, и загрузите на неё книгу: страница покажет замечания и показатели "
        "и отправит книгу в муниципалитет."
    )


def _build_instructions(ws: Worksheet) -> None:
    """Prose in two columns: labels in A, text in B; the version row for readers."""
    for index, width in enumerate(INSTRUCTIONS_COLUMN_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    for row, (label, text, font) in enumerate(_instruction_rows(), start=1):
        a = ws.cell(row=row, column=1, value=label or None)
        if label:
            a.data_type = "s"
            a.font = font or Font()
            a.alignment = Alignment(wrap_text=row != 1, vertical="top")
        if text:
            b = ws.cell(row=row, column=2, value=text)
            b.data_type = "s"
            b.alignment = WRAP_ALIGNMENT
