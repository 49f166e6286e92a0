"""`nastavnik upgrade-book` and the page's «Обновить книгу»: an old book's values in a fresh
current template.

The old book's cells are read as they are (openpyxl for .xlsx/.xlsm, with the cell comments
and formulas; calamine for .ods, values only), the declared steps of
workbook_templates/versions.py are applied by the one upgrader (`addin.migrate`) to the
values and, beside them, to the comments, and the result is written into the template the
public builders make today (`build_school_workbook`, `build_school_xlsm`): every table row
on its own row number, the form's fields by label, the school's own columns at the end of
their sheet, the school's own sheets at the end of the book. «Показатели» and «Проверка» are
filled again by the buttons; the buttons and VBA are the current ones.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from addin.errors import NotAWorkbookError, WorkbookError, corrupt
from addin.file_guard import check_file
from addin.migrate import migrate
from addin.model import normalize_header, read_info
from addin.raw import CELL_DATETIME, RawSheet, Values
from workbook_templates import contract as C
from workbook_templates.build import (
    DATE_FORMAT,
    HEADER_ALIGNMENT,
    HEADER_FILL,
    HEADER_FONT,
    build_school_workbook,
    workbook_bytes,
    write_atomically,
)
from workbook_templates.versions import HISTORY, RenameSheet
from workbook_templates.xlsm import CONF_SHEET, build_school_xlsm

OUT_SUFFIXES = (".xlsx", ".xlsm")
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
COMMENT_AUTHOR = "куратор"
#: Sheets of the old book the template makes anew (program output, lists, the .xlsm's
#: settings): their old content is not carried.
_REBUILT = {normalize_header(s.name) for s in C.SHEETS if s.kind not in (C.SheetKind.FORM,
                                                                         C.SheetKind.TABLE)}
_REBUILT.add(normalize_header(CONF_SHEET))


class Formula(str):
    """A cell's formula (text starting with «=») carried as a formula, not as text."""


@dataclass
class Upgraded:
    """What the upgrade did: versions, rows carried, the steps' notes, kept extras."""

    source: str
    old_version: str
    new_version: str = C.TEMPLATE_VERSION
    rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    extra_fields: list[str] = field(default_factory=list)
    extra_sheets: list[str] = field(default_factory=list)
    comments: int = 0
    macros: bool = False

    def lines_ru(self) -> list[str]:
        """The short report a curator reads: what moved where, what was added blank."""
        out = [f"Книга «{self.source}»: версия шаблона {self.old_version} → {self.new_version}."]
        if self.old_version == self.new_version:
            out.append("Книга уже в актуальной версии: данные перенесены в свежий шаблон "
                       "без изменений.")
        out += [f"Перенесено строк: «{name}» — {n}." for name, n in self.rows.items() if n]
        out += [f"Изменение шаблона: {n}." for n in self.notes]
        out += [f"Свои столбцы сохранены в конце листа «{name}»: "
                + ", ".join(f"«{c}»" for c in cols) + "." for name, cols in
                self.extra_columns.items() if cols]
        if self.extra_fields:
            out.append(f"Свои строки листа «{C.SCHOOL.name}» сохранены внизу листа: "
                       + ", ".join(f"«{f}»" for f in self.extra_fields) + ".")
        if self.extra_sheets:
            out.append("Свои листы сохранены в конце книги: "
                       + ", ".join(f"«{s}»" for s in self.extra_sheets) + ".")
        if self.comments:
            out.append(f"Перенесено комментариев к ячейкам: {self.comments}.")
        out.append(f"Листы «{C.INDICATORS.name}» и «{C.CHECK.name}» заполнятся заново кнопками "
                   "«Показатели» и «Проверить» (или на странице проверки).")
        if self.macros:
            out.append("Кнопки и макросы — текущей версии.")
        return out


@dataclass
class _OldBook:
    """Every sheet of the old book: cell values and, beside them, the cell comments."""

    values: dict[str, Values]
    comments: dict[str, Values]


def upgrade_book(src: str | Path, out: str | Path) -> Upgraded:
    """Write the book `src` in the current template to `out` (.xlsx, or .xlsm with the
    buttons); a typed WorkbookError in Russian if it cannot be done, and `out` untouched."""
    src, out = Path(src), Path(out)
    if out.suffix.lower() not in OUT_SUFFIXES:
        raise NotAWorkbookError(
            f"Новую книгу можно сохранить как .xlsx или .xlsm (с кнопками), а не «{out.suffix}».",
            source=out.name)
    if out.exists() and src.exists() and out.resolve() == src.resolve():
        raise NotAWorkbookError("Новая книга не записывается поверх старой: укажите другое "
                                "имя в --out.", source=src.name)
    payload, report = upgraded_bytes(src, macros=out.suffix.lower() == ".xlsm")
    write_atomically(out, payload)
    return report


def upgraded_bytes(src: Path, *, macros: bool = False, name: str | None = None
                   ) -> tuple[bytes, Upgraded]:
    """The upgraded book's bytes and the report (see `upgrade_book`)."""
    check_file(src)
    old = _read_old(src)
    source = name or src.name
    version = _version(old, source)
    report = Upgraded(source, version, macros=macros)
    values = migrate(_raw(old.values), version)
    comments = migrate(_raw(_shadow(old)), version, values=False)
    report.notes = values.notes
    wb = _template(macros)
    by_name = {normalize_header(k): k for k in values.sheets}
    for sheet in C.DATA_SHEETS:
        key = by_name.get(normalize_header(sheet.name))
        if key is None:
            continue
        ws = wb[sheet.name]
        if sheet.kind is C.SheetKind.FORM:
            _fill_form(ws, sheet, values.sheets[key], comments.sheets.get(key), report)
        else:
            _fill_table(ws, sheet, values.sheets[key], comments.sheets.get(key), report,
                        _header_notes(old, key))
    _copy_extra_sheets(wb, old, report)
    payload = workbook_bytes(wb)
    return (_with_macro_parts(payload) if macros else payload), report


# -- reading the old book -------------------------------------------------------------------
def _read_old(path: Path) -> _OldBook:
    try:
        if path.suffix.lower() == ".ods":
            return _read_ods(path)
        return _read_openpyxl(path)
    except WorkbookError:
        raise
    except Exception as exc:  # openpyxl and calamine raise many types for broken content
        raise corrupt(exc, path.name) from exc


def _read_openpyxl(path: Path) -> _OldBook:
    """Values in read-only mode (full mode is five times slower on a big book), comments
    from the sheets' comment parts."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=False, keep_links=False)
    notes = _comments(path)
    values: dict[str, Values] = {}
    comments: dict[str, Values] = {}
    try:
        for ws in wb.worksheets:
            ws.reset_dimensions()  # a wrong <dimension> must not cut rows off
            rows = [[_cell(c) for c in row] for row in ws.iter_rows()]
            own = notes.get(ws.title, {})
            width = max([len(r) for r in rows] + [c for _, c in own] + [0])
            rows += [[] for _ in range(max([r for r, _ in own] + [0]) - len(rows))]
            rows = [r + [None] * (width - len(r)) for r in rows]
            values[ws.title] = rows
            comments[ws.title] = [[own.get((r, c)) for c in range(1, width + 1)]
                                  for r in range(1, len(rows) + 1)]
    finally:
        wb.close()
    return _OldBook(values, comments)


def _comments(path: Path) -> dict[str, dict[tuple[int, int], str]]:
    """Sheet name -> (row, column) -> comment text, read the way openpyxl's reader does."""
    from openpyxl.comments.comment_sheet import CommentSheet
    from openpyxl.packaging.relationship import get_dependents, get_rels_path
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.utils.cell import coordinate_to_tuple
    from openpyxl.xml.constants import COMMENTS_NS
    from openpyxl.xml.functions import fromstring

    reader = ExcelReader(str(path), read_only=True)
    out: dict[str, dict[tuple[int, int], str]] = {}
    try:
        reader.read_manifest()
        reader.read_workbook()
        for sheet, rel in reader.parser.find_sheets():
            rels = get_rels_path(rel.target)
            if rels not in reader.valid_files:
                continue
            for r in get_dependents(reader.archive, rels).find(COMMENTS_NS):
                tree = CommentSheet.from_tree(fromstring(reader.archive.read(r.target)))
                for ref, comment in tree.comments:
                    out.setdefault(sheet.name, {})[coordinate_to_tuple(ref)] = comment.text
    finally:
        reader.archive.close()
    return out


def _cell(cell: Any) -> Any:
    v = getattr(cell, "value", None)
    if getattr(cell, "data_type", None) == "f" and isinstance(v, str):
        return Formula(v)
    if v is not None and not isinstance(v, str | int | float | bool | dt.date | dt.time):
        return None  # an array formula or a rich object openpyxl cannot write back as is
    return v


def _read_ods(path: Path) -> _OldBook:
    """Values only (calamine reads no comments of .ods): the header row, then the cells
    typed over each column, a date in a column of mixed types back as a date."""
    import fastexcel

    reader = fastexcel.read_excel(str(path))
    values: dict[str, Values] = {}
    for name in reader.sheet_names:
        sheet = reader.load_sheet(name, header_row=0, skip_rows=0, schema_sample_rows=None)
        header = [None if c.name.startswith("__UNNAMED__") else c.name
                  for c in sheet.available_columns()]
        cols = [[_ods_cell(v) for v in c.to_pylist()] for c in sheet.to_arrow().columns]
        values[name] = [header, *(list(r) for r in zip(*cols, strict=True))]
    return _OldBook(values, {k: [[None] * len(r) for r in v] for k, v in values.items()})


def _ods_cell(v: Any) -> Any:
    if isinstance(v, str) and re.fullmatch(CELL_DATETIME, v):
        return dt.datetime.fromisoformat(v)
    return v


def _raw(sheets: dict[str, Values]) -> dict[str, RawSheet]:
    """The data sheets of the old book as raw sheets (header in row 1)."""
    data = {normalize_header(s.name) for s in C.DATA_SHEETS}
    return {k: RawSheet.from_rows(v) for k, v in sheets.items() if normalize_header(k) in data
            or normalize_header(k) not in _REBUILT and _is_old_data_sheet(k)}


def _shadow(old: _OldBook) -> dict[str, Values]:
    """The comments laid out like the values for the upgrader to carry: the header row
    and, on a form, the labels are the values' own (the steps find columns by them)."""
    forms = {normalize_header(s.name) for s in C.DATA_SHEETS if s.kind is C.SheetKind.FORM}
    out: dict[str, Values] = {}
    for name, notes in old.comments.items():
        rows = [list(r) for r in notes]
        values = old.values[name]
        if rows:
            rows[0] = list(values[0])
        if normalize_header(name) in forms:
            for r, v in zip(rows, values, strict=True):
                if r and v:
                    r[0] = v[0]
        out[name] = rows
    return out


def _is_old_data_sheet(name: str) -> bool:
    """A sheet name some step of the history acts on (a sheet renamed since)."""
    return any(isinstance(s, RenameSheet) and normalize_header(s.old) == normalize_header(name)
               for r in HISTORY for s in r.steps)


def _version(old: _OldBook, source: str) -> str:
    """The book's version; a Russian refusal for a book not ours, of no version, or of a
    version newer than the program."""
    raw = {normalize_header(k): RawSheet.from_rows(v) for k, v in old.values.items()}
    return read_info(raw, source).version


# -- writing the new one --------------------------------------------------------------------
def _template(macros: bool) -> Any:
    if not macros:
        return build_school_workbook()
    import openpyxl

    with tempfile.TemporaryDirectory() as tmp:
        path = build_school_xlsm(Path(tmp) / "school.xlsm")
        return openpyxl.load_workbook(path, keep_vba=True)


def _with_macro_parts(payload: bytes) -> bytes:
    """openpyxl keeps the VBA project but drops the buttons' drawing part it does not know:
    put back every part of the fresh .xlsm template the saved book lacks."""
    with tempfile.TemporaryDirectory() as tmp:
        template = zipfile.ZipFile(build_school_xlsm(Path(tmp) / "school.xlsm"))
        parts = {n: template.read(n) for n in template.namelist()}
    saved = zipfile.ZipFile(io.BytesIO(payload))
    names = set(saved.namelist())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in saved.infolist():
            zf.writestr(info, saved.read(info.filename))
        for name, data in parts.items():
            if name not in names:
                zf.writestr(name, data)
    return out.getvalue()


def _put(ws: Any, row: int, column: int, value: Any, comment: Any = None) -> bool:
    """Write one old value unchanged (text stays text, a formula a formula); True if a
    comment was written."""
    from openpyxl.comments import Comment

    blank = value is None or (isinstance(value, str) and value == "")
    if blank and not comment:  # no cell object for nothing: the file stays small
        return False
    cell = ws.cell(row=row, column=column)
    if not blank:
        cell.value = value
        if isinstance(value, str) and not isinstance(value, Formula):
            cell.data_type = "s"
        elif isinstance(value, dt.datetime):
            cell.number_format = DATETIME_FORMAT if value.time() != dt.time() else DATE_FORMAT
        elif isinstance(value, dt.date):
            cell.number_format = DATE_FORMAT
    if comment:
        cell.comment = Comment(str(comment), COMMENT_AUTHOR)
        return True
    return False


def _header_notes(old: _OldBook, name: str) -> dict[str, Any]:
    """Comments on the header cells of an old sheet, by header."""
    rows, notes = old.values.get(name) or [[]], old.comments.get(name) or [[]]
    return {normalize_header(h): n for h, n in zip(rows[0], notes[0], strict=False) if n}


def _fill_table(ws: Any, sheet: C.Sheet, raw: RawSheet, notes: RawSheet | None,
                report: Upgraded, header_notes: dict[str, Any]) -> None:
    """Contract columns at their template places, the school's own columns after them."""
    places = {normalize_header(c.header): i for i, c in enumerate(sheet.columns, start=1)}
    targets: list[int] = []
    taken: set[int] = set()
    extras: list[str] = []
    rows = raw.rows()[1:]
    filled = [any(v not in (None, "") for v in col) for col in _columns(rows, len(raw.header))]
    for h, has_values in zip(raw.header, filled, strict=True):
        if h in (None, "") and not has_values:  # an empty column between: nothing to keep
            targets.append(0)
            continue
        at = places.get(normalize_header(h)) if h not in (None, "") else None
        if at is None or at in taken:  # the school's column (or a second twin)
            at = len(sheet.columns) + len(extras) + 1
            extras.append("" if h is None else str(h))
            _header(ws, at, h)
        taken.add(at)
        targets.append(at)
    comments = notes.rows() if notes is not None else []
    for i, (values, at) in enumerate(zip(_columns(rows, len(targets)), targets, strict=True)):
        if at == 0:
            continue
        if at > len(sheet.columns):  # the template's help stays on the contract's headers
            note = header_notes.get(normalize_header(raw.header[i]))
            report.comments += _put(ws, C.HEADER_ROW, at, None, note)
        for r, v in enumerate(values):
            note = comments[r + 1][i] if r + 1 < len(comments) and i < len(comments[r + 1]) \
                else None
            report.comments += _put(ws, C.FIRST_DATA_ROW + r, at, v, note)
    report.rows[sheet.name] = sum(1 for r in rows if any(v not in (None, "") for v in r))
    report.extra_columns[sheet.name] = [e for e in extras if e]


def _columns(rows: Values, width: int) -> list[list[Any]]:
    return [[r[i] if i < len(r) else None for r in rows] for i in range(width)]


def _header(ws: Any, column: int, title: Any) -> None:
    cell = ws.cell(row=C.HEADER_ROW, column=column, value=None if title is None else str(title))
    cell.data_type = "s"
    cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGNMENT


def _fill_form(ws: Any, sheet: C.Sheet, raw: RawSheet, notes: RawSheet | None,
               report: Upgraded) -> None:
    """Each field's value beside its label in the template; fields of the school's own at
    the bottom, label and value."""
    where = {normalize_header(ws.cell(row=r, column=1).value): r
             for r in range(C.FIRST_DATA_ROW, ws.max_row + 1)
             if ws.cell(row=r, column=1).value}
    comments = notes.rows()[1:] if notes is not None else []
    next_row = ws.max_row + 1
    for i, r in enumerate(raw.rows()[1:]):
        label = r[0] if r else None
        value = r[1] if len(r) > 1 else None
        note = comments[i][1] if i < len(comments) and len(comments[i]) > 1 else None
        if label in (None, ""):
            if value not in (None, ""):  # a value without a label: kept below, as it was
                report.comments += _put(ws, next_row, 2, value, note)
                next_row += 1
            continue
        at = where.pop(normalize_header(label), None)
        if at is None:
            _put(ws, next_row, 1, label)
            at, next_row = next_row, next_row + 1
            report.extra_fields.append(str(label))
        report.comments += _put(ws, at, 2, value, note)
    report.rows[sheet.name] = 0


def _copy_extra_sheets(wb: Any, old: _OldBook, report: Upgraded) -> None:
    """The school's own sheets, values and comments, at the end of the book."""
    ours = {normalize_header(s.name) for s in C.SHEETS} | _REBUILT
    for name, rows in old.values.items():
        if normalize_header(name) in ours or _is_old_data_sheet(name):
            continue
        ws = wb.create_sheet(name)
        notes = old.comments.get(name, [])
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row, start=1):
                note = notes[r - 1][c - 1] if r - 1 < len(notes) and c - 1 < len(
                    notes[r - 1]) else None
                report.comments += _put(ws, r, c, v, note)
        report.extra_sheets.append(name)
