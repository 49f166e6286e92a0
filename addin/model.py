"""SchoolWorkbook and WorkbookBatch: the typed tables of school workbooks, read through the
contract.

Every front end hands a batch to the rules and indicators: many schools at once for the
municipal sync, one school (a batch of one, `SchoolWorkbook`) for a button, the page or
`validate`. Only the reader differs: a file through fastexcel (calamine -> Arrow), an openpyxl
workbook, or the values an xlwings Book or Google Sheets carries. Every reader yields raw
sheets per school; `WorkbookBatch.of` matches headers by name per school, keeps extra user
columns, concatenates each sheet over all schools with the school key SCHOOL, converts types
once over the whole column (vectorized) and records where each value came from (ROW).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from addin.errors import (
    CorruptWorkbookError,
    NotOurWorkbookError,
    PasswordProtectedError,
    UnknownVersionError,
    WorkbookError,
)
from addin.file_guard import (  # noqa: F401 (the guard's limits are part of the model's API)
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    check_file,
)
from addin.migrate import migrate
from addin.raw import (  # noqa: F401 (the header folding is part of the model's API)
    CELL_DATETIME,
    Column,
    Group,
    RawSheet,
    Values,
    assemble,
    fold_text,
    gather,
    normalize_header,
)
from workbook_templates import contract as C
from workbook_templates.versions import is_newer

#: Column holding the Excel row number of each record in every table.
ROW = "_row"
#: Column holding the school's position in its batch (0 for a batch of one).
SCHOOL = "_school"
#: Extensions the readers accept.
SUPPORTED_SUFFIXES = (".xlsx", ".xlsm", ".ods")

_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_MIN_YEAR, _MAX_YEAR = 1800, 2200
_DMY = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*(?:г\.?)?\s*$")
_NUMERIC_TEXT = r"^\d+(?:\.\d+)?$"



@dataclass
class BookInfo:
    """What a batch knows of one school apart from its tables: source, version, the form
    «Сведения об ОО» (typed, as typed, and the Excel row of each field), and the shape of
    its sheets (missing sheets and columns, extra user columns)."""

    source: str
    version: str
    school: dict[str, Any] = field(default_factory=dict)
    school_raw: dict[str, Any] = field(default_factory=dict)
    school_rows: dict[str, int] = field(default_factory=dict)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    missing_sheets: list[str] = field(default_factory=list)
    missing_columns: dict[str, list[str]] = field(default_factory=dict)

    @property
    def school_code(self) -> str:
        return str(self.school.get("code") or "")

    @property
    def reference_date(self) -> date | None:
        """The date the figures are given at: the form's date, else the period's last day."""
        ref = self.school.get("reference_date")
        if isinstance(ref, date):
            return ref
        return period_end(self.school.get("period"))


@dataclass
class WorkbookBatch:
    """Many schools' workbooks as one set of typed pandas tables keyed by the contract.

    tables[key] holds every school's rows of one sheet: one column per contract column (typed:
    datetime64 for dates, float for numbers, strings otherwise), the extra user columns under
    their own headers, ROW and SCHOOL (the position of the school in `books`).
    raw[key] holds the same cells as read (for checks that need the original text).
    """

    books: list[BookInfo]
    tables: dict[str, pd.DataFrame]
    raw: dict[str, pd.DataFrame]
    #: Results derived from the tables, shared by the check and the indicators.
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, books: Sequence[tuple[str, Mapping[str, RawSheet]]]) -> WorkbookBatch:
        """Build a batch from (source, sheet name -> RawSheet) per school.

        Raises the typed WorkbookError of the first school that is not our workbook: callers
        that batch many files check each with `check_sheets` first.
        """
        infos: list[BookInfo] = []
        parts: dict[str, list[Part]] = {}
        forms: list[dict[str, Any]] = []
        for i, (source, sheets) in enumerate(books):
            by_name = {normalize_header(k): v for k, v in sheets.items()}
            info = read_info(by_name, source)
            if info.version != C.TEMPLATE_VERSION:  # an old book: read through the steps
                by_name = {normalize_header(k): v
                           for k, v in migrate(by_name, info.version).sheets.items()}
            for sheet in C.DATA_SHEETS:
                raw = by_name.get(normalize_header(sheet.name))
                if raw is None:
                    info.missing_sheets.append(sheet.key)
                    raw = RawSheet.empty()
                if sheet.kind is C.SheetKind.FORM:
                    forms.append(_match_form(info, sheet, raw.rows()))
                else:
                    parts.setdefault(sheet.key, []).append(_match_table(info, sheet, raw, i))
            infos.append(info)
        _convert_forms(infos, forms)
        tables, raws = {}, {}
        for sheet in C.DATA_SHEETS:
            if sheet.kind is C.SheetKind.TABLE:
                tables[sheet.key], raws[sheet.key] = _convert_table(sheet, parts.get(sheet.key, []))
        return cls(infos, tables, raws)

    def table(self, key: str) -> pd.DataFrame:
        """The typed table of one sheet (empty with the contract columns if absent)."""
        return self.tables[key]

    def __len__(self) -> int:
        return len(self.books)

    def forms(self) -> pd.DataFrame:
        """«Сведения об ОО» of every school, one row per school (index: SCHOOL)."""
        if "forms" not in self.memo:
            self.memo["forms"] = pd.DataFrame(
                [b.school for b in self.books], index=pd.RangeIndex(len(self.books), name=SCHOOL),
                columns=[c.key for c in C.SCHOOL.columns])
        return self.memo["forms"]

    def split(self, frame: pd.DataFrame) -> list[pd.DataFrame]:
        """A frame carrying SCHOOL cut into one frame per school of the batch."""
        groups = dict(tuple(frame.groupby(SCHOOL, sort=False))) if len(frame) else {}
        empty = frame.iloc[0:0]
        return [groups.get(i, empty) for i in range(len(self.books))]

    def school_workbook(self, i: int) -> SchoolWorkbook:
        """School i of the batch as a batch of one (its tables are cut out, SCHOOL is 0)."""
        def cut(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
            out = {}
            for k, t in frames.items():
                part = t[t[SCHOOL] == i].reset_index(drop=True)
                part[SCHOOL] = 0
                out[k] = part[[c for c in t.columns if c in _own_columns(self.books[i], k)]]
            return out
        return SchoolWorkbook([self.books[i]], cut(self.tables), cut(self.raw))


def _own_columns(info: BookInfo, key: str) -> set[str]:
    """Columns of a batch table that belong to one school: the contract's, its own extras."""
    return ({ROW, SCHOOL} | {c.key for c in C.sheet(key).columns}
            | set(info.extra_columns.get(key, [])))


class SchoolWorkbook(WorkbookBatch):
    """One school's workbook: a batch of one, with the school's facts at hand."""

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def from_path(cls, path: str | Path) -> SchoolWorkbook:
        """Read a .xlsx/.xlsm/.ods file with fastexcel (the fast path)."""
        p = Path(path)
        return cls.from_raw(load_sheets(p), source=p.name)

    @classmethod
    def from_openpyxl(cls, wb: Any, source: str = "") -> SchoolWorkbook:
        """Build from an openpyxl Workbook (used where styles or validations also matter)."""
        values = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb}
        return cls.from_values(values, source=source)

    @classmethod
    def from_values(cls, values: Mapping[str, Values], source: str = "") -> SchoolWorkbook:
        """Build from sheet name -> rows of cell values (xlwings, Google Sheets, openpyxl)."""
        return cls.from_raw({k: RawSheet.from_rows(v) for k, v in values.items()}, source)

    @classmethod
    def from_raw(cls, sheets: Mapping[str, RawSheet], source: str = "") -> SchoolWorkbook:
        batch = WorkbookBatch.of([(source, sheets)])
        return cls(batch.books, batch.tables, batch.raw)

    # -- the one school -----------------------------------------------------------------
    @property
    def info(self) -> BookInfo:
        return self.books[0]

    @property
    def source(self) -> str:
        return self.info.source

    @property
    def version(self) -> str:
        return self.info.version

    @property
    def school(self) -> dict[str, Any]:
        return self.info.school

    @property
    def school_raw(self) -> dict[str, Any]:
        return self.info.school_raw

    @property
    def school_rows(self) -> dict[str, int]:
        return self.info.school_rows

    @property
    def extra_columns(self) -> dict[str, list[str]]:
        return self.info.extra_columns

    @property
    def missing_sheets(self) -> list[str]:
        return self.info.missing_sheets

    @property
    def missing_columns(self) -> dict[str, list[str]]:
        return self.info.missing_columns

    @property
    def reference_date(self) -> date | None:
        return self.info.reference_date

    @property
    def school_code(self) -> str:
        return self.info.school_code

    def row_counts(self) -> dict[str, int]:
        """Number of records per table."""
        return {k: len(v) for k, v in self.tables.items()}


# -- loading ------------------------------------------------------------------------------
def load_sheets(path: Path) -> dict[str, RawSheet]:
    """The raw sheets of a school file, checked to be our workbook of a known version.

    Raises the typed WorkbookError of a file that cannot be used; what it returns always
    makes a batch.
    """
    check_file(path)
    sheets = read_raw(path)
    check_sheets(sheets, path.name)
    return sheets


def check_sheets(sheets: Mapping[str, RawSheet], source: str) -> None:
    """Raise the typed WorkbookError if these sheets are not our workbook of a known version."""
    read_info({normalize_header(k): v for k, v in sheets.items()}, source)


def read_info(by_name: Mapping[str, RawSheet], source: str) -> BookInfo:
    """The version of one school's sheets (normalized names); a typed error if they are not
    the school workbook or carry an unknown version."""
    if not any(normalize_header(s.name) in by_name for s in C.DATA_SHEETS):
        raise NotOurWorkbookError(
            "В файле нет ни одного листа книги наставничества (например, «Наставники», "
            "«Пары и группы»). Скачайте стандартный шаблон и перенесите данные в него.",
            source=source,
        )
    instructions = by_name.get(normalize_header(C.INSTRUCTIONS.name))
    version = _read_version(instructions.rows() if instructions is not None else None, source)
    return BookInfo(source=source, version=version)


def _match_form(info: BookInfo, sheet: C.Sheet, rows: Values) -> dict[str, Any]:
    """The form's raw cells by field key (label in column A, value in B); the Excel row of
    each field and the fields not found go into `info`."""
    labels = {normalize_header(r[0]): (i + 1, _cell_value(r[1]) if len(r) > 1 else None)
              for i, r in enumerate(rows) if r and r[0] not in (None, "")}
    raw_cells: dict[str, Any] = {}
    for col in sheet.columns:
        found = labels.get(normalize_header(col.header))
        if found is None:
            info.missing_columns.setdefault(sheet.key, []).append(col.key)
            continue
        info.school_rows[col.key] = found[0]
        raw_cells[col.key] = _blank_to_none(found[1])
        if col.type is C.ColType.PERIOD and isinstance(found[1], date):
            # Excel turns a typed «2026-11» into a date: read it back as the month it was
            raw_cells[col.key] = found[1].strftime("%Y-%m")
    info.school_raw = raw_cells
    return raw_cells


def _convert_forms(infos: list[BookInfo], forms: list[dict[str, Any]]) -> None:
    """Type every school's form at once, field by field."""
    frame = pd.DataFrame(forms, columns=[c.key for c in C.SCHOOL.columns], dtype=object)
    frame = frame.astype(object).where(frame.notna(), None)
    typed = {col.key: convert_column(frame[col.key], col.type, col.dictionary).tolist()
             for col in C.SCHOOL.columns}
    for i, info in enumerate(infos):
        info.school = {k: None if _is_missing(v[i]) else _to_python(v[i])
                       for k, v in typed.items()}


def _cell_value(v: Any) -> Any:
    """A form cell as a Python value: a date written as text by fastexcel becomes a date."""
    if isinstance(v, str) and re.fullmatch(CELL_DATETIME, v):
        return pd.Timestamp(v).to_pydatetime()
    if isinstance(v, float) and np.isnan(v):
        return None
    return v


#: One school's sheet in a batch: school position, rows read, columns by contract key (extra
#: columns under EXTRA + their title).
Part = tuple[int, int, dict[str, Column]]
#: Prefix of extra user columns while a batch is built (they cannot clash with contract keys).
EXTRA = "\x00"


def _match_table(info: BookInfo, sheet: C.Sheet, raw: RawSheet, school: int) -> Part:
    """One school's columns by contract key (headers matched by name, the first of twins
    wins; missing ones recorded in `info`) and its extra columns by title."""
    header = [normalize_header(h) for h in raw.header]
    positions = {h: i for i, h in reversed(list(enumerate(header))) if h}
    columns: dict[str, Column] = {}
    known: set[int] = set()
    for col in sheet.columns:
        pos = positions.get(normalize_header(col.header))
        if pos is None:
            info.missing_columns.setdefault(sheet.key, []).append(col.key)
            continue
        known.add(pos)
        columns[col.key] = raw.columns[pos]
    extras = [(i, str(raw.header[i])) for i in range(len(header)) if i not in known and header[i]]
    info.extra_columns[sheet.key] = [t for _, t in extras]
    for pos, title in extras:
        columns[EXTRA + title] = raw.columns[pos]
    return school, raw.height, columns


def _convert_table(sheet: C.Sheet, parts: list[Part]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every school's rows of one sheet: gathered, blank rows dropped, and each contract
    column converted once per cell type for the whole batch."""
    heights = np.array([h for _, h, _ in parts], dtype="int64")
    offsets = np.concatenate([[0], np.cumsum(heights)[:-1]]).astype("int64") if parts else heights
    total = int(heights.sum())
    keys = [c.key for c in sheet.columns]
    extras = list(dict.fromkeys(k for _, _, cols in parts for k in cols if k.startswith(EXTRA)))
    raw = {SCHOOL: np.repeat([s for s, _, _ in parts], heights).astype("int64"),
           ROW: (np.arange(total) - np.repeat(offsets, heights) + C.FIRST_DATA_ROW)}
    typed: dict[str, Any] = {}
    spec = {c.key: c for c in sheet.columns}
    for key in keys + extras:
        groups = gather([(int(o), cols[key]) for o, (_, _, cols) in zip(offsets, parts,
                                                                        strict=True)
                         if key in cols])
        raw[key] = assemble(groups, [g.cells for g in groups], total, None)
        if key in spec:
            col = spec[key]
            values = [_convert_group(g, col) for g in groups]
            typed[key] = assemble(groups, values, total, _DTYPES.get(col.type))
    raw_frame = pd.DataFrame(raw)
    filled = raw_frame[keys + extras].notna().any(axis=1).to_numpy(dtype=bool)
    raw_frame = raw_frame[filled].reset_index(drop=True)
    out = raw_frame[[SCHOOL, ROW]].copy()
    for key in keys:
        out[key] = typed[key][filled].reset_index(drop=True)
    for key in extras:
        out[key[len(EXTRA):]] = raw_frame[key].astype(object).where(raw_frame[key].notna(), None)
    return out, raw_frame[[SCHOOL, ROW, *keys]]


_DTYPES = {C.ColType.DATE: "datetime64[ns]", C.ColType.INTEGER: "float64",
           C.ColType.NUMBER: "float64"}


def _convert_group(group: Group, col: C.Column) -> pd.Series:
    """A group of cells converted to the column's type (text already tidied stays as is)."""
    if group.text and col.type not in _DTYPES and not col.dictionary:
        return group.cells
    return convert_column(group.cells, col.type, col.dictionary)


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
        text = text.map(typed).astype(object).where(text.notna(), None)
    return text


#: The day a reader gives a time typed alone (Excel's serial below 1): «15:00» in a text
#: column is a time of day, not 31.12.1899 (calamine counts from 1899-12-31, openpyxl and
#: Google from 1899-12-30).
_TIME_ONLY_DAYS = frozenset({date(1899, 12, 30), date(1899, 12, 31)})
_AFTER_TIME_ONLY = pd.Timestamp(1900, 1, 1)


def _text_of(v: Any) -> Any:
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float):
        if np.isnan(v):
            return None
        if v.is_integer():
            return str(int(v))
    if isinstance(v, datetime) and v.date() in _TIME_ONLY_DAYS:
        v = v.time()
    if isinstance(v, dtime):
        return v.strftime("%H:%M" if not v.second else "%H:%M:%S")
    if isinstance(v, datetime | date):
        return v.strftime("%d.%m.%Y")
    s = " ".join(str(v).split())
    return s or None


def to_text(cells: pd.Series) -> pd.Series:
    """Strings, stripped; whole floats lose their '.0' (an ID typed as 1 reads as '1').

    Each distinct value is converted once: columns repeat values (categories, forms).
    """
    if pd.api.types.is_datetime64_any_dtype(cells):
        text = cells.dt.strftime("%d.%m.%Y").astype(object).where(cells.notna(), None)
        times = cells.notna() & (cells < _AFTER_TIME_ONLY)
        if times.any():
            text[times] = [_text_of(v) for v in cells[times]]
        return text
    seen: dict[Any, Any] = {}
    out = []
    for v in cells.tolist():
        try:
            out.append(seen[v])
        except KeyError:
            out.append(seen.setdefault(v, _text_of(v)))
        except TypeError:  # unhashable: never from a reader, but be safe
            out.append(_text_of(v))
    return pd.Series(out, index=cells.index, dtype=object)


def to_numbers(cells: pd.Series) -> pd.Series:
    """Floats from numbers or numeric text ('12', '12,5'); anything else is NaN."""
    if pd.api.types.is_float_dtype(cells) or pd.api.types.is_integer_dtype(cells):
        return cells.astype("float64")
    if cells.dtype != object:  # dates, booleans: not numbers
        return pd.Series(np.nan, index=cells.index, dtype="float64")
    kinds = cells.map(type)
    text = cells.where(kinds.ne(str), cells.astype(str).str.replace(",", ".", regex=False)
                       .str.replace(" ", "", regex=False).str.replace("\xa0", "", regex=False))
    not_number = kinds.isin([bool, np.bool_, date, datetime, pd.Timestamp])
    return pd.to_numeric(text.where(~not_number), errors="coerce").astype("float64")


def to_dates(cells: pd.Series) -> pd.Series:
    """Dates from date cells, Excel serial numbers and ДД.ММ.ГГГГ text; else NaT.

    Digits alone in a column of mixed types are a serial number: fastexcel writes number
    cells of such a column as text.
    """
    if pd.api.types.is_datetime64_any_dtype(cells):
        years = cells.dt.year
        ok = years.between(_MIN_YEAR, _MAX_YEAR)
        return cells.dt.floor("D").where(ok).astype("datetime64[ns]")
    if pd.api.types.is_float_dtype(cells) or pd.api.types.is_integer_dtype(cells):
        return _serials(cells.astype("float64"))
    out = pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns]")
    if cells.dtype != object or not len(cells):
        return out
    kinds = cells.map(type)
    is_date = kinds.isin([date, datetime, pd.Timestamp])
    if is_date.any():
        years = cells[is_date].map(lambda v: v.year)
        ok = is_date & years.reindex(cells.index).between(_MIN_YEAR, _MAX_YEAR).fillna(False)
        if ok.any():
            out[ok] = pd.to_datetime(
                cells[ok].map(lambda v: datetime(v.year, v.month, v.day)))
    is_num = kinds.isin([int, float, np.float64, np.int64])
    is_text = kinds.eq(str)
    if is_text.any():
        digits = is_text & cells.where(is_text, "").str.fullmatch(_NUMERIC_TEXT)
        is_num = is_num | digits
        is_text = is_text & ~digits
    if is_num.any():
        out[is_num] = _serials(pd.to_numeric(cells[is_num], errors="coerce"))
    if is_text.any():
        parts = cells[is_text].str.extract(_DMY)
        year = pd.to_numeric(parts[2], errors="coerce")
        iso = (parts[2] + "-" + parts[1].str.zfill(2) + "-" + parts[0].str.zfill(2)).where(
            year.between(_MIN_YEAR, _MAX_YEAR))
        out[is_text] = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    return out


def _serials(serial: pd.Series) -> pd.Series:
    """Excel serial day numbers as dates (01.01.1900 .. 31.12.2199), else NaT."""
    ok = serial.between(1, 109574)
    out = pd.Series(pd.NaT, index=serial.index, dtype="datetime64[ns]")
    # floor: a date with a time of day (an afternoon serial .6) is still that day
    out[ok] = _EXCEL_EPOCH + pd.to_timedelta((serial[ok] + 1e-9).floordiv(1), unit="D")
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
            raise UnknownVersionError(_unknown_version_ru(version), source=source)
    raise UnknownVersionError(
        "На листе «Инструкция» не найдена версия шаблона. Возможно, книга создана не из "
        "стандартного шаблона: перенесите данные в актуальный шаблон.",
        source=source,
    )


def _unknown_version_ru(version: str) -> str:
    if is_newer(version):
        return (f"Книга сделана в шаблоне версии {version}, а эта программа знает версии до "
                f"{C.TEMPLATE_VERSION}: обновите программу nastavnik (или попросите "
                "муниципальный центр), и книга будет принята.")
    return (f"Версия шаблона «{version or 'не указана'}» не поддерживается этой программой "
            f"(поддерживаются: {', '.join(C.KNOWN_VERSIONS)}). Перенесите данные в "
            "актуальный шаблон или обновите программу.")


# -- file checks and the calamine reader ----------------------------------------------------
def read_raw(path: Path) -> dict[str, RawSheet]:
    """The sheets of the contract in a file, read with fastexcel (calamine -> Arrow).

    Table sheets keep the column types calamine infers over every row (a column of dates
    stays dates); form sheets (label, value) arrive as text and are typed by the model.
    """
    import fastexcel

    # fastexcel warns for every column of mixed types: they are normal here; calamine warns
    # in English about odd content (capped .ods repeats, unknown parts) a user cannot act on
    for logger in ("fastexcel", "calamine"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    wanted = {normalize_header(s.name): s for s in (*C.DATA_SHEETS, C.INSTRUCTIONS)}
    try:
        reader = fastexcel.read_excel(str(path))
        sheets = {}
        for name in reader.sheet_names:
            sheet = wanted.get(normalize_header(name))
            if sheet is not None:
                sheets[name] = _load_raw_sheet(reader, name, sheet.kind is C.SheetKind.TABLE)
        return sheets
    except WorkbookError:
        raise
    except Exception as exc:  # calamine raises several types for broken content
        if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise PasswordProtectedError(
                "Файл защищён паролем. Снимите пароль и сохраните книгу заново.",
                source=path.name) from exc
        raise CorruptWorkbookError(
            "Файл повреждён: его содержимое не удаётся прочитать. Откройте книгу в Excel или "
            "LibreOffice, сохраните заново и повторите.", source=path.name) from exc


def _load_raw_sheet(reader: Any, name: str, table: bool) -> RawSheet:
    if not table:  # a form: every row is data, the first one too
        batch = reader.load_sheet(name, header_row=None, skip_rows=0).to_arrow()
        return RawSheet([c[0].as_py() if len(c) else None for c in batch.columns],
                        [c.slice(1) for c in batch.columns], max(batch.num_rows - 1, 0))
    sheet = reader.load_sheet(name, header_row=0, skip_rows=0, schema_sample_rows=None)
    header = [None if c.name.startswith("__UNNAMED__") else c.name
              for c in sheet.available_columns()]
    return RawSheet.from_arrow(header, sheet.to_arrow())


def iter_tables(wb: WorkbookBatch) -> Iterable[tuple[C.Sheet, pd.DataFrame]]:
    """(sheet, typed table) for every table sheet of the contract."""
    for sheet in C.DATA_SHEETS:
        if sheet.kind is C.SheetKind.TABLE:
            yield sheet, wb.tables[sheet.key]
