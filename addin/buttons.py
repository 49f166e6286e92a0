"""The «Проверить» and «Показатели» buttons: one code path for every place a workbook lives.

Both entry points take an xlwings Book:

* desktop Excel: ``RunPython "import addin.buttons as b; b.main_validate()"`` (the VBA module
  of school.xlsm) calls :func:`main_validate`, which passes ``xw.Book.caller()``;
* remote (Google Sheets Apps Script, Excel Office Scripts): ``addin.web.remote`` builds
  ``xw.Book(json=payload)`` and returns ``book.json()``, the list of actions the client replays.

The cell values are read through the xlwings API, turned into a :class:`SchoolWorkbook` (the
same constructor the CLI and the sync use), checked by the same rules, and the results are
written back through the same API: the «Проверка» sheet (the rows of ``nastavnik validate
--annotate``), fills of the offending cells, the «Показатели» sheet, and a Russian message box.

Only actions the Apps Script client of xlwings implements are used (setValues, rangeClear,
setRangeColor, addSheet, activateSheet, alert, runMacro): no fonts, no notes.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from addin.errors import WorkbookError
from addin.indicators import IndicatorValue, compute_indicators, load_targets
from addin.model import SchoolWorkbook, normalize_header
from addin.plan.gaps import MET, SHORT, gap_of, gaps
from addin.report import Report, shorten
from addin.rules.base import Finding, Severity
from addin.validate import validate_workbook
from addin.xlsx.annotate import FILLS
from workbook_templates import contract as C

TITLE = "Наставничество"
#: Column of the value on the FORM sheet (label in A, value in B).
FORM_VALUE_COLUMN = 2
#: Fill colours by severity, as '#RRGGBB' (the colours of the annotated copy).
COLOURS: dict[Severity, str] = {s: "#" + FILLS[s].fgColor.rgb[-6:] for s in Severity}
#: The Apps Script function (workbook_templates/appsscript/Code.gs) that turns the severity
#: cells of «Проверка» into links: Google Sheets links need the sheet's gid, which only the
#: script knows.
GOOGLE_LINKS_MACRO = "nastavnikLinks"
GOOGLE_CLIENT = "Google Apps Script"
#: Upper bound of cell fills per check (runs of adjacent cells count once).
MAX_FILL_ACTIONS = 500

INTERNAL_ERROR_RU = ("Не удалось выполнить действие из-за внутренней ошибки программы. "
                     "Сообщите администратору; книга не изменена или изменена частично.")

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
#: A date cell shifted by a time-zone conversion arrives a few hours off midnight.
_MIDNIGHT_SLACK = timedelta(hours=3)
#: Strings a spreadsheet would turn into a formula.
_FORMULA_START = ("=", "+", "-", "@")


# ----------------------------------------------------------------------------- entry points
def main_validate() -> None:
    """RunPython entry point of the «Проверить» button in desktop Excel."""
    _desktop(validate)


def main_indicators() -> None:
    """RunPython entry point of the «Показатели» button in desktop Excel."""
    _desktop(indicators)


def _desktop(action) -> None:  # noqa: ANN001 (validate or indicators)
    import xlwings as xw

    book = xw.Book.caller()
    try:
        action(book)
    except Exception as exc:  # never a traceback window for a school curator
        print(f"nastavnik: {type(exc).__name__}", file=sys.stderr)
        book.app.alert(INTERNAL_ERROR_RU, title=TITLE)


def validate(book: Any, reference_date: date | None = None) -> None:
    """«Проверить»: rewrite «Проверка», highlight offending cells, show the counts."""
    reading = _read_or_alert(book)
    if reading is not None:
        validate_book(book, reading, reference_date)


def indicators(book: Any, reference_date: date | None = None,
               targets: dict[str, dict[str, Any]] | None = None) -> None:
    """«Показатели»: rewrite the «Показатели» sheet with the indicators and their targets."""
    reading = _read_or_alert(book)
    if reading is not None:
        indicators_book(book, reading, reference_date, targets)


def _read_or_alert(book: Any) -> BookReading | None:
    try:
        return read_book(book)
    except WorkbookError as exc:  # not our workbook, unknown version: say so, change nothing
        book.app.alert(exc.message_ru, title=TITLE)
        return None


# ------------------------------------------------------------------------------- reading
@dataclass
class SheetPlace:
    """Where one contract sheet sits in the book and how far its used range reaches."""

    name: str  # the name in the book (may differ from the contract in case or spaces)
    rows: int
    columns: int
    header: list[Any] = field(default_factory=list)  # row 1 of a TABLE sheet


@dataclass
class BookReading:
    """What one read of a book gives: the typed workbook and where its sheets are."""

    wb: SchoolWorkbook
    places: dict[str, SheetPlace]  # normalized contract sheet name -> place

    def place(self, sheet_name: str) -> SheetPlace | None:
        return self.places.get(normalize_header(sheet_name))


def read_book(book: Any) -> BookReading:
    """Read the book's cell values once (raises WorkbookError if it is not our workbook)."""
    contract = {normalize_header(s.name): s for s in C.SHEETS}
    wanted = {normalize_header(s.name) for s in (*C.DATA_SHEETS, C.INSTRUCTIONS)}
    values: dict[str, list[list[Any]]] = {}
    places: dict[str, SheetPlace] = {}
    remote = book.app.engine.name == "remote"
    for sheet in book.sheets:
        norm = normalize_header(sheet.name)
        if norm not in contract:
            continue
        last = sheet.used_range.last_cell
        place = SheetPlace(sheet.name, last.row, last.column)
        if norm in wanted:
            rows = _cells(sheet.range((1, 1), (last.row, last.column)), remote)
            values[sheet.name] = rows
            if contract[norm].kind is C.SheetKind.TABLE and rows:
                place.header = rows[C.HEADER_ROW - 1]
        places[norm] = place
    wb = SchoolWorkbook.from_values(values, source=book.name)
    return BookReading(wb, places)


def _cells(rng: Any, remote: bool) -> list[list[Any]]:
    """The cells of a range as rows of values for SchoolWorkbook.

    Remote books: the values exactly as the client sent them (``raw_value``: "" for empty,
    ISO strings for dates), decoded here; xlwings' own decoding would fail on text that looks
    like a date-time with a UTC offset. Desktop Excel: xlwings' values (datetimes, None,
    errors as None).
    """
    rows = rng.raw_value if remote else rng.options(ndim=2).value
    if not isinstance(rows, list | tuple) or (rows and not isinstance(rows[0], list | tuple)):
        rows = [[rows]] if not isinstance(rows, list | tuple) else [rows]
    return [[cell_value(v) if (t := type(v)) is datetime or (
        t is str and (v == "" or (len(v) >= 19 and v[10] == "T"))) else v for v in row]
        for row in rows]


def read_workbook(book: Any) -> SchoolWorkbook:
    """A SchoolWorkbook from the book's cell values (raises WorkbookError if not ours)."""
    return read_book(book).wb


def cell_value(v: Any) -> Any:
    """One cell as SchoolWorkbook reads it: dates as dates, ISO text from the clients too.

    xlwings.js sends date cells as ISO strings ("2026-09-15T00:00:00.000Z"); xlwings turns
    them into datetimes, desktop Excel gives datetimes. A date cell is a date: the time is
    dropped, and a value a few hours off midnight (a time-zone shift) goes to the nearest day.
    """
    if isinstance(v, str):
        if v == "":
            return None
        if len(v) < 19 or v[10] != "T" or not _ISO.match(v):
            return v
        try:
            v = datetime.fromisoformat(v.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            return v
    if isinstance(v, datetime):
        v = v.replace(tzinfo=None)  # desktop Excel on Windows may give an aware pywintypes time
        midnight = datetime(v.year, v.month, v.day)
        if v - midnight <= _MIDNIGHT_SLACK:
            return midnight.date()
        if v.date() < date.max and midnight + timedelta(days=1) - v <= _MIDNIGHT_SLACK:
            return (midnight + timedelta(days=1)).date()
    return v


# ------------------------------------------------------------------------------ «Проверить»
def validate_book(book: Any, reading: BookReading,
                  reference_date: date | None = None) -> Report:
    """Check the workbook read from `book` and write the results into `book`."""
    report = validate_workbook(reading.wb, reference_date)
    google = _google(book)
    sheets = _sheets_by_name(book)
    _clear_highlights(sheets, reading)
    cells = [locate(f, reading) for f in report.findings]
    check = _fresh_sheet(book, C.CHECK, reading)
    rows = [_check_row(f, cell, reading, links=not google)
            for f, cell in zip(report.findings, cells, strict=True)]
    if rows:
        check.range((C.FIRST_DATA_ROW, 1), (C.FIRST_DATA_ROW + len(rows) - 1,
                                             len(C.CHECK.columns))).value = rows
        for first, last, sev in _runs(enumerate((f.severity for f in report.findings),
                                                C.FIRST_DATA_ROW)):
            check.range((first, 1), (last, 1)).color = COLOURS[sev]
    complete = _highlight(sheets, report.findings, cells)
    check.activate()
    book.app.alert(status_message(report, complete), title=TITLE)
    if google:
        links = [[i, reading.place(f.sheet).name, _a1(cell)]
                 for i, (f, cell) in enumerate(zip(report.findings, cells, strict=True),
                                               C.FIRST_DATA_ROW) if cell is not None]
        if links:
            book.app.macro(GOOGLE_LINKS_MACRO)(links)
    return report


def status_message(report: Report, all_highlighted: bool = True) -> str:
    """The short Russian message shown after a check."""
    c = report.counts
    if not report.findings:
        return "Замечаний нет: книга заполнена без ошибок и готова к сдаче."
    text = (f"Проверка завершена: ошибок — {c[Severity.ERROR.value]}, предупреждений — "
            f"{c[Severity.WARNING.value]}, советов — {c[Severity.ADVICE.value]}. "
            f"Список — на листе «{C.CHECK.name}», ячейки с замечаниями выделены цветом.")
    if not all_highlighted:
        text += (f" Замечаний много: цветом выделена только часть ячеек, полный список — на "
                 f"листе «{C.CHECK.name}».")
    if report.errors:
        text += " Исправьте ошибки и нажмите «Проверить» ещё раз."
    return text


def locate(f: Finding, reading: BookReading) -> tuple[int, int] | None:
    """(row, column) of the cell a finding points at, found as `annotate` finds it."""
    place = reading.place(f.sheet)
    if place is None or f.row is None:
        return None
    if normalize_header(f.sheet) == normalize_header(C.SCHOOL.name):
        return f.row, FORM_VALUE_COLUMN
    if f.column is None:
        return f.row, 1
    wanted = normalize_header(f.column)
    for j, h in enumerate(place.header, start=1):
        if normalize_header(h) == wanted:
            return f.row, j
    return f.row, 1


def _check_row(f: Finding, cell: tuple[int, int] | None, reading: BookReading,
               links: bool) -> list[Any]:
    """One row of «Проверка»: the columns of contract.CHECK, as `annotate` writes them."""
    severity: Any = f.severity.value
    if links and cell is not None:
        severity = hyperlink_formula(reading.place(f.sheet).name, _a1(cell), f.severity.value)
    # a 40,000-character cell is shown cut, as on the page and in the annotated copy
    value = shorten(f.value) if f.value is not None else None
    return [severity, f.code, f.sheet, f.row, f.column, as_text(value), as_text(f.message_ru),
            as_text(f.hint_ru)]


def hyperlink_formula(sheet: str, a1: str, text: str) -> str:
    """=HYPERLINK to a cell of this workbook (Excel; the formula language is English)."""
    target = "#'" + sheet.replace("'", "''") + "'!" + a1
    return '=HYPERLINK("' + target.replace('"', '""') + '","' + text.replace('"', '""') + '")'


def as_text(v: Any) -> Any:
    """A string written so that it stays text: never a formula, never re-parsed as a number
    or a date (the leading apostrophe is Excel's and Google Sheets' "this is text" mark)."""
    if not isinstance(v, str) or not v:
        return v
    if v.startswith((*_FORMULA_START, "'")) or _looks_parsed(v):
        return "'" + v
    return v


def _looks_parsed(v: str) -> bool:
    """Text a spreadsheet would turn into a number or a date when typed (12, 1.10, 15.09.2026)."""
    return bool(re.fullmatch(r"[\d\s.,:/%]+", v)) and any(ch.isdigit() for ch in v)


def _highlight(sheets: dict[str, Any], findings: list[Finding],
               cells: list[tuple[int, int] | None]) -> bool:
    """Fill each offending cell with the colour of its worst finding (runs share one action).

    At most MAX_FILL_ACTIONS fills, the most serious first (each is one call in Apps Script,
    which stops a script after six minutes); returns whether every cell got its fill.
    """
    worst: dict[tuple[str, int, int], Severity] = {}
    for f, cell in zip(findings, cells, strict=True):
        if cell is None:
            continue
        key = (normalize_header(f.sheet), cell[1], cell[0])
        if key not in worst or f.severity.rank < worst[key].rank:
            worst[key] = f.severity
    by_column: dict[tuple[str, int], list[tuple[int, Severity]]] = {}
    for (sheet, col, row), sev in worst.items():
        by_column.setdefault((sheet, col), []).append((row, sev))
    fills = [(sev.rank, sheet, col, first, last, sev)
             for (sheet, col), in_column in by_column.items()
             for first, last, sev in _runs(sorted(in_column, key=lambda x: x[0]))]
    fills.sort(key=lambda x: x[:4])
    for _rank, sheet, col, first, last, sev in fills[:MAX_FILL_ACTIONS]:
        sheets[sheet].range((first, col), (last, col)).color = COLOURS[sev]
    return len(fills) <= MAX_FILL_ACTIONS


def _runs(items: Iterable[tuple[int, Severity]]) -> list[tuple[int, int, Severity]]:
    """Consecutive rows of one severity merged: [(first_row, last_row, severity)]."""
    out: list[tuple[int, int, Severity]] = []
    for row, sev in items:
        if out and out[-1][2] is sev and out[-1][1] == row - 1:
            out[-1] = (out[-1][0], row, sev)
        else:
            out.append((row, row, sev))
    return out


def _clear_highlights(sheets: dict[str, Any], reading: BookReading) -> None:
    """Remove the fills of an earlier check from the data area of the data sheets.

    Bounded to the used range and to the template's columns: the fill of the header row and
    of the user's own columns to the right of the template's stays.
    """
    for sheet in C.DATA_SHEETS:
        place = reading.place(sheet.name)
        if place is None or place.rows < C.FIRST_DATA_ROW:
            continue
        if sheet.kind is C.SheetKind.FORM:
            first_col = last_col = FORM_VALUE_COLUMN
        else:
            ours = {normalize_header(c.header) for c in sheet.columns}
            positions = [j for j, h in enumerate(place.header, 1) if normalize_header(h) in ours]
            first_col, last_col = 1, max(positions, default=1)
        ws = sheets[normalize_header(sheet.name)]
        ws.range((C.FIRST_DATA_ROW, first_col), (place.rows, last_col)).color = None


def _fresh_sheet(book: Any, sheet: C.Sheet, reading: BookReading) -> Any:
    """The output sheet emptied below its header (added after the last sheet if absent)."""
    place = reading.place(sheet.name)
    width = len(sheet.columns)
    if place is None:
        ws = book.sheets.add(sheet.name, after=book.sheets[len(book.sheets) - 1])
        header_present = False
    else:
        ws = _sheets_by_name(book)[normalize_header(sheet.name)]
        if place.rows >= C.FIRST_DATA_ROW:
            ws.range((C.FIRST_DATA_ROW, 1), (place.rows, max(place.columns, width))).clear()
        header_present = ws.range((C.HEADER_ROW, 1)).value not in (None, "")
    if not header_present:
        ws.range((C.HEADER_ROW, 1), (C.HEADER_ROW, width)).value = [
            [c.header for c in sheet.columns]]
    return ws


def _sheets_by_name(book: Any) -> dict[str, Any]:
    """Normalized name -> sheet, taken after any sheet was added (positions are fixed then)."""
    return {normalize_header(s.name): s for s in book.sheets}


def _google(book: Any) -> bool:
    """Whether the book came from the Google Sheets client (links work differently there)."""
    if book.app.engine.name != "remote":
        return False
    return (book.impl.api or {}).get("client") == GOOGLE_CLIENT


def _a1(cell: tuple[int, int]) -> str:
    row, col = cell
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row}"


# ----------------------------------------------------------------------------- «Показатели»
def indicators_book(book: Any, reading: BookReading, reference_date: date | None = None,
                    targets: dict[str, dict[str, Any]] | None = None) -> list[IndicatorValue]:
    """Compute the indicators of the workbook read from `book` and write «Показатели»."""
    values = compute_indicators(reading.wb, reference_date,
                                targets if targets is not None else load_targets())
    ws = _fresh_sheet(book, C.INDICATORS, reading)
    rows = [indicator_row(v) for v in values]
    if rows:
        ws.range((C.FIRST_DATA_ROW, 1), (C.FIRST_DATA_ROW + len(rows) - 1,
                                          len(C.INDICATORS.columns))).value = rows
    ws.activate()
    met = sum(1 for v in values if v.met)
    known = sum(1 for v in values if v.met is not None)
    short = [g.text_ru for g in gaps(values) if g.status == SHORT][:3]
    plan = ("\n" + "\n".join(short)) if short else ""
    book.app.alert(f"Показатели рассчитаны: целевое значение достигнуто по {met} из {known}. "
                   f"Таблица — на листе «{C.INDICATORS.name}».{plan}", title=TITLE)
    return values


def indicator_row(v: IndicatorValue) -> list[Any]:
    """One row of «Показатели»: the contract's columns; the note also says what is missing to
    the target («Чтобы достичь 70 %, не хватает 37 наставляемых 10–19 лет»)."""
    met = "—" if v.met is None else ("да" if v.met else "нет")
    gap = gap_of(v)
    note = "; ".join(t for t in (v.note, gap.text_ru if gap and gap.status != MET else "")
                     if t)
    return [as_text(v.title), v.numerator, v.denominator, v.value, v.target, met,
            as_text(note)]
