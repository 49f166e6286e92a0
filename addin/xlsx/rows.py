"""Rows of worksheet XML, built column by column in Arrow: the one cell writer of the package
edits (the annotated copy's «Проверка», the suggestions copy) and of the master's tables.

Python spends microseconds on a cell and a city's master has half a million of them; Arrow
joins a column's cells as strings in one pass. Cells are written as a spreadsheet user reads
them: text as inline strings (never a formula, whatever it begins with), numbers as numbers,
dates as Excel serials, booleans as «да»/«нет». A missing value or an empty text is a blank
cell where it has a format and no cell at all where it has none.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from addin.xlsx.package import column_letter
from workbook_templates import contract as C

#: Excel's day 0 as a proleptic ordinal (1899-12-30), for date serials without pandas.
_EPOCH_ORDINAL = date(1899, 12, 30).toordinal()
_EPOCH = pd.Timestamp("1899-12-30")
#: The longest text a cell holds (Excel's limit; longer text is cut, as xlsxwriter cut it).
MAX_TEXT = 32767
#: Characters XML 1.0 cannot carry (RE2 syntax).
_ILLEGAL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"

#: A column's cell formats: one index for every cell, or one per row.
Styles = int | Sequence[int]


@dataclass(frozen=True)
class Cells:
    """A column split by kind: per row, its text (or null), number (or NaN), and whether
    the number is a date."""

    texts: pa.Array
    numbers: np.ndarray
    dates: np.ndarray


def cells_of(values: pd.Series | Sequence[object]) -> Cells:
    """The cells of a column: a pandas column by its dtype, or Python values one by one."""
    if not isinstance(values, pd.Series):
        return _mixed(list(values))
    s = values
    n = len(s)
    missing = s.isna().to_numpy()
    no_dates = np.zeros(n, dtype=bool)
    no_numbers = np.full(n, np.nan)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert(None)
        serials = ((s - _EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
        return Cells(pa.nulls(n, pa.string()), serials, ~missing)
    if pd.api.types.is_bool_dtype(s.dtype):
        marks = np.where(s.to_numpy(dtype=bool, na_value=False), C.YES, C.NO)
        return Cells(pa.array(marks, mask=missing, type=pa.string()), no_numbers, no_dates)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return Cells(pa.nulls(n, pa.string()), s.to_numpy(dtype=float, na_value=np.nan),
                     no_dates)
    plain = s.astype(object).where(~missing, None).tolist()
    if isinstance(s.dtype, pd.StringDtype):
        return Cells(pa.array(plain, type=pa.string()), no_numbers, no_dates)
    return _mixed(plain)


def _mixed(values: list) -> Cells:
    """Mixed Python values: text stays text, numbers numbers, dates dates."""
    n = len(values)
    texts: list[str | None] = [None] * n
    nums = np.full(n, np.nan)
    dates = np.zeros(n, dtype=bool)
    for i, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, str):
            texts[i] = v
        elif isinstance(v, bool | np.bool_):
            texts[i] = C.YES if v else C.NO
        elif isinstance(v, numbers.Real):
            nums[i] = float(v)
        elif isinstance(v, datetime | date):
            nums[i], dates[i] = serial(v), True
        else:
            texts[i] = str(v)
    return Cells(pa.array(texts, type=pa.string()), nums, dates)


def serial(v: date) -> float:
    """An Excel date serial (days since 1899-12-30, the time as a fraction)."""
    if isinstance(v, datetime):
        if v.tzinfo is not None:
            return (pd.Timestamp(v).tz_convert(None) - _EPOCH) / pd.Timedelta(days=1)
        seconds = v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
        return v.toordinal() - _EPOCH_ORDINAL + seconds / 86400
    return float(v.toordinal() - _EPOCH_ORDINAL)


def rows_xml(columns: Sequence[Cells], first_row: int, styles: Sequence[Styles]) -> bytes:
    """<row> elements (UTF-8) of equally long columns, from 1-based `first_row`, columns
    from A; `styles` are each column's cell format indices (0: none)."""
    n = len(columns[0].numbers) if columns else 0
    if n == 0:
        return b""
    row_numbers = pa.array(np.arange(first_row, first_row + n)).cast(pa.string())
    cells = [_column_xml(column_letter(j + 1), row_numbers, c, st)
             for j, (c, st) in enumerate(zip(columns, styles, strict=True))]
    rows = pc.binary_join_element_wise('<row r="', row_numbers, '">', *cells, "</row>", "")
    return "".join(rows.to_pylist()).encode("utf-8")


def _column_xml(letter: str, row_numbers: pa.Array, cells: Cells, styles: Styles) -> pa.Array:
    """Each row's <c> of one column ("" where there is no cell)."""
    if isinstance(styles, int):
        attr: pa.Array | str = _attr(styles)
    else:
        attr = pa.array([_attr(s) for s in styles], type=pa.string())
    ref = ('<c r="', letter, row_numbers, '"', attr)
    as_text = pc.binary_join_element_wise(
        *ref, ' t="inlineStr"><is><t xml:space="preserve">', _escape(cells.texts),
        "</t></is></c>", "")
    as_number = pc.binary_join_element_wise(*ref, "><v>", _number_text(cells.numbers),
                                            "</v></c>", "")
    nothing = pa.scalar("", pa.string())
    # no value: a blank cell that keeps its format, or no cell at all
    if isinstance(attr, str):
        blank = nothing if not attr else pc.binary_join_element_wise(*ref, "/>", "")
    else:
        blank = pc.if_else(pc.equal(attr, ""), nothing,
                           pc.binary_join_element_wise(*ref, "/>", ""))
    cell = pc.if_else(pc.fill_null(pc.equal(cells.texts, ""), False), blank, as_text)
    return pc.coalesce(cell, as_number, blank)


def _attr(style: int) -> str:
    return f' s="{style}"' if style else ""


def _escape(texts: pa.Array) -> pa.Array:
    texts = pc.utf8_slice_codeunits(texts, 0, MAX_TEXT)
    texts = pc.replace_substring_regex(texts, _ILLEGAL, "")
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        texts = pc.replace_substring(texts, raw, escaped)
    return texts


def _number_text(values: np.ndarray) -> pa.Array:
    """Numbers as XML: the shortest text that reads back the same; NaN and ±inf: no value."""
    return pc.cast(pa.array(values, mask=~np.isfinite(values)), pa.string())
