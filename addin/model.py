"""SchoolWorkbook: the typed tables of one school workbook, read through the contract.

Every front end builds a SchoolWorkbook and hands it to the rules and indicators; only the
reader differs (a file through python-calamine, an openpyxl workbook, the values an xlwings
Book carries). All readers end in `SchoolWorkbook.from_values`, which matches headers by
name, keeps extra user columns, converts types column by column (vectorized) and records
where each value came from (the Excel row).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from addin.errors import (
    CorruptWorkbookError,
    NotAWorkbookError,
    NotOurWorkbookError,
    PasswordProtectedError,
    UnknownVersionError,
    WorkbookError,
    WorkbookNotFoundError,
    WorkbookTooLargeError,
)
from workbook_templates import contract as C

#: Column holding the Excel row number of each record in every table.
ROW = "_row"
#: Extensions the readers accept.
SUPPORTED_SUFFIXES = (".xlsx", ".xlsm", ".ods")

_BLANKS = ["", " ", "  ", "\xa0"]
_DASHES = str.maketrans({"–": "-", "—": "-", "‑": "-", "ё": "е", "\xa0": " "})
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_MIN_YEAR, _MAX_YEAR = 1800, 2200
_DMY = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*(?:г\.?)?\s*$")

Values = list[list[Any]]


def normalize_header(text: Any) -> str:
    """Header text as compared: case, spaces, dashes and ё do not matter."""
    if text is None:
        return ""
    s = str(text).lower().translate(_DASHES)
    return " ".join(s.replace("\n", " ").split())


@dataclass
class SchoolWorkbook:
    """One school's workbook as typed pandas tables keyed by the contract.

    tables[key] holds one column per contract column (typed: datetime64 for dates, float for
    numbers, strings otherwise), the extra user columns under their own headers, and ROW.
    raw[key] holds the same cells as read (for checks that need the original text).
    """

    source: str
    version: str
    school: dict[str, Any]
    school_raw: dict[str, Any]
    school_rows: dict[str, int]
    tables: dict[str, pd.DataFrame]
    raw: dict[str, pd.DataFrame]
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    missing_sheets: list[str] = field(default_factory=list)
    missing_columns: dict[str, list[str]] = field(default_factory=dict)
    #: Results derived from the tables, shared by the check and the indicators.
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def from_path(cls, path: str | Path) -> SchoolWorkbook:
        """Read a .xlsx/.xlsm/.ods file with python-calamine (the fast path)."""
        p = Path(path)
        check_file(p)
        values = _read_calamine(p)
        return cls.from_values(values, source=p.name)

    @classmethod
    def from_openpyxl(cls, wb: Any, source: str = "") -> SchoolWorkbook:
        """Build from an openpyxl Workbook (used where styles or validations also matter)."""
        values = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb}
        return cls.from_values(values, source=source)

    @classmethod
    def from_values(cls, values: Mapping[str, Values], source: str = "") -> SchoolWorkbook:
        """Build from sheet name -> rows of cell values (the common path of every reader)."""
        by_name = {normalize_header(k): v for k, v in values.items()}
        if not any(normalize_header(s.name) in by_name for s in C.DATA_SHEETS):
            raise NotOurWorkbookError(
                "В файле нет ни одного листа книги наставничества (например, «Наставники», "
                "«Пары и группы»). Скачайте стандартный шаблон и перенесите данные в него.",
                source=source,
            )
        version = _read_version(by_name.get(normalize_header(C.INSTRUCTIONS.name)), source)
        wb = cls(source=source, version=version, school={}, school_raw={}, school_rows={},
                 tables={}, raw={})
        for sheet in C.DATA_SHEETS:
            rows = by_name.get(normalize_header(sheet.name))
            if rows is None:
                wb.missing_sheets.append(sheet.key)
                rows = []
            if sheet.kind is C.SheetKind.FORM:
                wb._load_form(sheet, rows)
            else:
                wb._load_table(sheet, rows)
        return wb

    # -- loading ------------------------------------------------------------------------
    def _load_form(self, sheet: C.Sheet, rows: Values) -> None:
        labels = {normalize_header(r[0]): (i + 1, r[1] if len(r) > 1 else None)
                  for i, r in enumerate(rows) if r and r[0] not in (None, "")}
        raw_cells: dict[str, Any] = {}
        for col in sheet.columns:
            found = labels.get(normalize_header(col.header))
            if found is None:
                self.missing_columns.setdefault(sheet.key, []).append(col.key)
                continue
            self.school_rows[col.key] = found[0]
            raw_cells[col.key] = _blank_to_none(found[1])
            if col.type is C.ColType.PERIOD and isinstance(found[1], date):
                # Excel turns a typed «2026-11» into a date: read it back as the month it was
                raw_cells[col.key] = found[1].strftime("%Y-%m")
        self.school_raw = raw_cells
        for col in sheet.columns:
            series = convert_column(pd.Series([raw_cells.get(col.key)], dtype=object), col.type,
                                    col.dictionary)
            value = series.iloc[0]
            self.school[col.key] = None if _is_missing(value) else _to_python(value)

    def _load_table(self, sheet: C.Sheet, rows: Values) -> None:
        header = [normalize_header(h) for h in (rows[C.HEADER_ROW - 1] if rows else [])]
        body = rows[C.HEADER_ROW:] if rows else []
        width = len(header)
        # An object frame: pandas must not infer dtypes from user cells. Blank strings
        # (calamine's empty cell) become None for the whole frame at once.
        body = [r[:width] if len(r) >= width else list(r) + [None] * (width - len(r))
                for r in body]
        frame = pd.DataFrame(body, columns=range(width), dtype=object)
        if width:
            frame = frame.mask(frame.isin(_BLANKS), None)
        frame[ROW] = range(C.FIRST_DATA_ROW, C.FIRST_DATA_ROW + len(frame))
        if width:
            frame = frame[frame.drop(columns=[ROW]).notna().any(axis=1)]
        positions = {h: i for i, h in reversed(list(enumerate(header))) if h}
        raw = pd.DataFrame({ROW: frame[ROW].to_numpy()})
        typed = pd.DataFrame({ROW: frame[ROW].to_numpy()})
        known: set[int] = set()
        for col in sheet.columns:
            pos = positions.get(normalize_header(col.header))
            if pos is None:
                self.missing_columns.setdefault(sheet.key, []).append(col.key)
                cells = pd.Series([None] * len(frame), dtype=object)
            else:
                known.add(pos)
                cells = frame[pos].reset_index(drop=True)
            raw[col.key] = cells.to_numpy()
            typed[col.key] = convert_column(cells, col.type, col.dictionary).to_numpy()
        extras = [(i, rows[C.HEADER_ROW - 1][i]) for i in range(width)
                  if i not in known and header[i]]
        for pos, title in extras:
            typed[str(title)] = frame[pos].to_numpy()
        self.extra_columns[sheet.key] = [str(t) for _, t in extras]
        self.tables[sheet.key] = typed
        self.raw[sheet.key] = raw

    # -- convenience --------------------------------------------------------------------
    def table(self, key: str) -> pd.DataFrame:
        """The typed table of one sheet (empty with the contract columns if absent)."""
        return self.tables[key]

    @property
    def reference_date(self) -> date | None:
        """The date the figures are given at: the form's date, else the period's last day."""
        ref = self.school.get("reference_date")
        if isinstance(ref, date):
            return ref
        return period_end(self.school.get("period"))

    @property
    def school_code(self) -> str:
        return str(self.school.get("code") or "")

    def row_counts(self) -> dict[str, int]:
        """Number of records per table."""
        return {k: len(v) for k, v in self.tables.items()}


# -- type conversion (vectorized per column) ----------------------------------------------
def convert_column(cells: pd.Series, kind: C.ColType, dictionary: str | None = None) -> pd.Series:
    """Convert raw cell values to the contract type; unconvertible cells become missing.

    Dictionary values typed with other case, dashes or spaces become the canonical value;
    values outside the dictionary are kept as typed (a rule reports them).
    """
    if kind is C.ColType.DATE:
        return to_dates(cells)
    if kind in (C.ColType.INTEGER, C.ColType.NUMBER):
        return to_numbers(cells)
    text = to_text(cells)
    if dictionary:
        canonical = {normalize_header(v).replace(" ", ""): v
                     for v in C.dictionary_values(dictionary)}
        typed = {v: canonical.get(normalize_header(v).replace(" ", ""), v)
                 for v in pd.unique(text.dropna())}
        text = pd.Series([typed.get(v) if v is not None else None for v in text],
                         index=text.index, dtype=object)
    return text


def to_text(cells: pd.Series) -> pd.Series:
    """Strings, stripped; whole floats lose their '.0' (an ID typed as 1 reads as '1').

    Each distinct value is converted once: columns repeat values (categories, forms).
    """
    def one(v: Any) -> Any:
        if v is None:
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if isinstance(v, datetime):
            return v.strftime("%d.%m.%Y")
        if isinstance(v, date):
            return v.strftime("%d.%m.%Y")
        s = " ".join(str(v).split())
        return s or None
    seen: dict[Any, Any] = {}
    out = []
    for v in cells:
        try:
            out.append(seen[v])
        except KeyError:
            out.append(seen.setdefault(v, one(v)))
        except TypeError:  # unhashable: never from a reader, but be safe
            out.append(one(v))
    return pd.Series(out, index=cells.index, dtype=object)


def to_numbers(cells: pd.Series) -> pd.Series:
    """Floats from numbers or numeric text ('12', '12,5'); anything else is NaN."""
    text = cells.map(lambda v: v.replace(",", ".").replace(" ", "").replace("\xa0", "")
                     if isinstance(v, str) else v)
    nums = pd.to_numeric(text.where(~cells.map(lambda v: isinstance(v, (bool, date)))),
                         errors="coerce")
    return nums.astype("float64")


def to_dates(cells: pd.Series) -> pd.Series:
    """Dates from date cells, Excel serial numbers and ДД.ММ.ГГГГ text; else NaT."""
    out = pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns]")
    # pandas timestamps end in 2262: later (or absurdly early) dates count as not dates
    is_date = cells.map(lambda v: isinstance(v, date) and not pd.isna(v)
                        and _MIN_YEAR <= v.year <= _MAX_YEAR)
    if is_date.any():
        out[is_date] = pd.to_datetime(
            cells[is_date].map(lambda v: datetime(v.year, v.month, v.day)))
    is_num = cells.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
    if is_num.any():
        serial = cells[is_num].astype(float)
        ok = serial.between(1, 109574)  # 01.01.1900 .. 31.12.2199
        out[is_num & ok.reindex(cells.index, fill_value=False)] = (
            # floor: a date with a time of day (an afternoon serial .6) is still that day
            _EXCEL_EPOCH + pd.to_timedelta((serial[ok] + 1e-9).floordiv(1), unit="D"))
    is_text = cells.map(lambda v: isinstance(v, str))
    if is_text.any():
        parts = cells[is_text].str.extract(_DMY)
        year = pd.to_numeric(parts[2], errors="coerce")
        iso = (parts[2] + "-" + parts[1].str.zfill(2) + "-" + parts[0].str.zfill(2)).where(
            year.between(_MIN_YEAR, _MAX_YEAR))
        parsed = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
        out[is_text] = parsed
    return out


def period_end(period: Any) -> date | None:
    """Last day of a period written as ГГГГ-ММ; None if it cannot be read."""
    m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(period or ""))
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    start = pd.Timestamp(int(m.group(1)), int(m.group(2)), 1)
    return (start + pd.offsets.MonthEnd(0)).date()


def _blank_to_none(v: Any) -> Any:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    return v


def _is_missing(v: Any) -> bool:
    return v is None or (not isinstance(v, str) and bool(pd.isna(v)))


def _to_python(v: Any) -> Any:
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


# -- version ------------------------------------------------------------------------------
def _read_version(rows: Values | None, source: str) -> str:
    label = normalize_header(C.VERSION_LABEL)
    for r in rows or []:
        if r and normalize_header(r[0]) == label and len(r) > 1:
            version = str(r[1] or "").strip()
            if version in C.KNOWN_VERSIONS:
                return version
            raise UnknownVersionError(
                f"Версия шаблона «{version or 'не указана'}» не поддерживается этой программой "
                f"(поддерживаются: {', '.join(C.KNOWN_VERSIONS)}). Перенесите данные в "
                "актуальный шаблон или обновите программу.",
                source=source,
            )
    raise UnknownVersionError(
        "На листе «Инструкция» не найдена версия шаблона. Возможно, книга создана не из "
        "стандартного шаблона: перенесите данные в актуальный шаблон.",
        source=source,
    )


# -- file checks and the calamine reader ----------------------------------------------------
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")


def check_file(path: Path) -> None:
    """Raise a typed WorkbookError unless the file looks like a readable spreadsheet."""
    name = path.name
    if not path.is_file():
        raise WorkbookNotFoundError(f"Файл не найден: {path}", source=name)
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(_OLE_MAGIC):
        if _ENCRYPTED_MARK in path.read_bytes():
            raise PasswordProtectedError(
                "Файл защищён паролем. Снимите пароль (Файл → Сведения → Защита книги) и "
                "сохраните книгу заново.", source=name)
        raise NotAWorkbookError(
            "Это файл старого формата Excel 97–2003 (.xls). Сохраните его как «Книга Excel "
            "(.xlsx)» и проверьте снова.", source=name)
    if not head.startswith(b"PK"):
        raise NotAWorkbookError(
            "Файл не является книгой Excel или LibreOffice. Нужен файл .xlsx, .xlsm или .ods.",
            source=name)
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise CorruptWorkbookError(
            "Файл повреждён (возможно, загружен не до конца). Сохраните книгу заново и "
            "повторите.", source=name) from exc
    if "xl/workbook.xml" not in names and "content.xml" not in names:
        kind = "документ Word" if "word/document.xml" in names else "не книга Excel"
        raise NotAWorkbookError(
            f"Это {kind}, а не книга Excel или LibreOffice. Нужен файл .xlsx, .xlsm или .ods "
            "со стандартными листами.", source=name)
    _check_size(path)


#: Limits that keep one file from exhausting memory: the reader allocates the whole grid up
#: to the farthest cell, so one cell at XFD1048576 would ask for hundreds of gigabytes.
MAX_UNPACKED_BYTES = 400 * 1024 * 1024
MAX_ROWS = 99_999
MAX_COLUMNS = 100  # column CV; the widest sheet of the contract has 13
_FAR_ROW = re.compile(rb'<row r="\d{6,}"|<c r="[A-Z]+\d{6,}"')
_WIDE_CELL = re.compile(rb'<c r="([A-Z]{2,3})\d')
TOO_LARGE_RU = ("В книге слишком много строк или столбцов (заполнена ячейка далеко за пределами "
                "таблицы, или файл больше {mb} МБ в распакованном виде). Удалите лишние строки и "
                "столбцы, сохраните книгу и повторите.")


def _check_size(path: Path) -> None:
    """Refuse files whose grid or unpacked size is far beyond any school's workbook."""
    too_large = WorkbookTooLargeError(TOO_LARGE_RU.format(mb=MAX_UNPACKED_BYTES >> 20),
                                      source=path.name)
    with zipfile.ZipFile(path) as zf:
        if sum(i.file_size for i in zf.infolist()) > MAX_UNPACKED_BYTES:
            raise too_large
        for info in zf.infolist():
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                with zf.open(info) as fh:
                    if _too_far(fh):
                        raise too_large


def _too_far(stream: Any) -> bool:
    """Whether a worksheet XML has a row past MAX_ROWS or a column past MAX_COLUMNS."""
    tail = b""
    while chunk := stream.read(4 * 1024 * 1024):
        text = tail + chunk
        if _FAR_ROW.search(text):
            return True
        for letters in _WIDE_CELL.findall(text):
            if _column_number(letters) > MAX_COLUMNS:
                return True
        tail = text[-32:]
    return False


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _read_calamine(path: Path) -> dict[str, Values]:
    import python_calamine as pc

    try:
        book = pc.CalamineWorkbook.from_path(str(path))
        wanted = {normalize_header(s.name) for s in (*C.DATA_SHEETS, C.INSTRUCTIONS)}
        values = {}
        for name in book.sheet_names:
            if normalize_header(name) in wanted:
                sheet = book.get_sheet_by_name(name)
                values[name] = sheet.to_python(skip_empty_area=False)
        return values
    except pc.PasswordError as exc:
        raise PasswordProtectedError(
            "Файл защищён паролем. Снимите пароль и сохраните книгу заново.",
            source=path.name) from exc
    except Exception as exc:  # calamine raises several types for broken content
        if isinstance(exc, WorkbookError):
            raise
        raise CorruptWorkbookError(
            "Файл повреждён: его содержимое не удаётся прочитать. Откройте книгу в Excel или "
            "LibreOffice, сохраните заново и повторите.", source=path.name) from exc


def iter_tables(wb: SchoolWorkbook) -> Iterable[tuple[C.Sheet, pd.DataFrame]]:
    """(sheet, typed table) for every table sheet of the contract."""
    for sheet in C.DATA_SHEETS:
        if sheet.kind is C.SheetKind.TABLE:
            yield sheet, wb.tables[sheet.key]
