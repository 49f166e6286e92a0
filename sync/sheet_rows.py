"""The data rows of the master's tables as worksheet XML, built column by column in Arrow.

xlsxwriter spends ~10 µs of Python on a cell, and a city's master has half a million of them
(«Дорожные карты», «До цели»). So the master's writer lets xlsxwriter write each table's
title, header, filter and panes, keeps the rows as `Block`s, and `fill` puts them into the
written package afterwards: the cells of a column are joined as strings by Arrow, and their
formats (a number format, a fill) are added to styles.xml by the package writer.

Cells are written the way the master always wrote them: text as inline strings (never a
formula, whatever it begins with), numbers as numbers, dates as Excel serials with a date
format, booleans as «да»/«нет», missing values as no cell at all.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from addin.xlsx_package import Package, column_index, column_letter
from addin.xlsx_styles import Styles
from workbook_templates import contract as C

DATE_FORMAT = "dd.mm.yyyy"
#: Excel's day 0 as a proleptic ordinal (1899-12-30), for date serials without pandas.
_EPOCH_ORDINAL = date(1899, 12, 30).toordinal()
_EPOCH = pd.Timestamp("1899-12-30")
#: The longest text a cell holds (Excel's limit; xlsxwriter cut longer text the same way).
MAX_TEXT = 32767
#: Characters XML 1.0 cannot carry (RE2 syntax).
_ILLEGAL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
#: The only format properties a data cell may have besides its column's number format.
CELL_PROPERTIES = frozenset({"bg_color"})


@dataclass
class Block:
    """Rows of one table, from 0-based row `first` down, columns from A."""

    first: int
    frame: pd.DataFrame
    #: Excel number format per column (None: general; dates get DATE_FORMAT anyway).
    formats: Sequence[str | None]
    #: Fill colour («#RRGGBB») per column and row, or None for a column without fills.
    fills: Sequence[Sequence[str | None] | None]

    @property
    def last(self) -> int:
        return self.first + len(self.frame) - 1


def fills_of(styles: Sequence[dict | None]) -> list[str | None]:
    """The fill colours of a column's per-row format properties (see CELL_PROPERTIES)."""
    out = []
    for st in styles:
        if st and not CELL_PROPERTIES.issuperset(st):
            raise ValueError(f"data cells take only {sorted(CELL_PROPERTIES)}, not {st}")
        out.append(st.get("bg_color") if st else None)
    return out


def fill(path: Path, blocks: dict[str, list[Block]]) -> None:
    """Put the rows of `blocks` (by sheet name) into the workbook at `path`, in place."""
    if not any(blocks.values()):
        return
    with Package(path) as pkg:
        parts = {s.name: s.part for s in pkg.sheets()}
        styles = _StyleIndex(Styles(pkg))
        for sheet, sheet_blocks in blocks.items():
            if sheet_blocks:
                part = parts[sheet]
                pkg.write(part, _splice(pkg.read(part), sheet_blocks, styles))
        styles.save()
        pkg.save(path)


class _StyleIndex:
    """Cell format index of each (number format, fill) pair, added to styles.xml once."""

    def __init__(self, styles: Styles) -> None:
        self.styles = styles
        self.known: dict[tuple[str | None, str | None], int] = {}

    def __call__(self, num_format: str | None, colour: str | None) -> int:
        key = (num_format, colour)
        if key not in self.known:
            if num_format is None and colour is None:
                self.known[key] = 0
            else:
                fmt = self.styles.num_fmt(num_format) if num_format else 0
                fill_id = self.styles.fill("FF" + colour.lstrip("#").upper()) if colour else 0
                self.known[key] = self.styles.xf(fill=fill_id, num_fmt=fmt)
        return self.known[key]

    def save(self) -> None:
        self.styles.save()


_ROW = re.compile(rb'<row r="(\d+)"')
_DIMENSION = re.compile(rb'<dimension ref="([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?"\s*/>')


def _splice(data: bytes, blocks: list[Block], styles: _StyleIndex) -> bytes:
    """The sheet part with each block's rows placed among the rows already there (titles and
    headers, in row order) and the dimension grown to cover them."""
    start = data.index(b"<sheetData")
    end = data.rindex(b"</sheetData>")  # never empty: every table has its title row
    body_start = data.index(b">", start) + 1
    existing = [(int(m.group(1)), m.start()) for m in _ROW.finditer(data, body_start, end)]
    pieces, cursor = [data[:body_start]], body_start
    for block in sorted(blocks, key=lambda b: b.first):
        after = next((pos for row, pos in existing if row > block.last + 1), end)
        pieces.append(data[cursor:after])
        pieces.append(rows_xml(block, styles))
        cursor = after
    pieces.append(data[cursor:])
    last_row = max(b.last + 1 for b in blocks)
    last_col = max(len(b.frame.columns) for b in blocks)
    return _grow_dimension(b"".join(pieces), last_row, last_col)


def _grow_dimension(data: bytes, last_row: int, last_col: int) -> bytes:
    m = _DIMENSION.search(data, 0, 2000)
    if m is None:
        return data
    row = max(int(m.group(4) or m.group(2) or 1), last_row)
    col = max(column_index((m.group(3) or m.group(1) or b"A").decode()), last_col)
    ref = f'<dimension ref="A1:{column_letter(col)}{row}"/>'.encode()
    return data[:m.start()] + ref + data[m.end():]


# -- rendering ------------------------------------------------------------------------------
def rows_xml(block: Block, styles: _StyleIndex) -> bytes:
    """The <row> elements of a block (UTF-8)."""
    n = len(block.frame)
    if n == 0:
        return b""
    numbers_ = pa.array(np.arange(block.first + 1, block.first + n + 1)).cast(pa.string())
    cells = [_column_xml(column_letter(j + 1), numbers_, block.frame.iloc[:, j],
                         block.formats[j], block.fills[j], styles)
             for j in range(len(block.frame.columns))]
    rows = pc.binary_join_element_wise('<row r="', numbers_, '">', *cells, "</row>", "")
    return "".join(rows.to_pylist()).encode("utf-8")


def _column_xml(letter: str, row_numbers: pa.Array, s: pd.Series, num_format: str | None,
                fills: Sequence[str | None] | None, styles: _StyleIndex) -> pa.Array:
    """Each row's <c> of one column ("" where the value is missing)."""
    texts, values, dates = _split(s)
    date_format = num_format or DATE_FORMAT
    if fills is None and not dates.any():
        style = styles(num_format, None)
        attr: pa.Array | str = f' s="{style}"' if style else ""
    else:
        attr = pa.array([_attr(styles(date_format if d else num_format, f))
                         for d, f in zip(dates, fills or [None] * len(dates), strict=True)],
                        type=pa.string())
    ref = ('<c r="', letter, row_numbers, '"', attr)
    text = _escape(texts)
    as_text = pc.binary_join_element_wise(
        *ref, ' t="inlineStr"><is><t xml:space="preserve">', text, "</t></is></c>", "")
    as_number = pc.binary_join_element_wise(*ref, "><v>", _number_text(values), "</v></c>",
                                            "")
    nothing = pa.scalar("", pa.string())
    # an empty text: a blank cell that keeps its format (a fill), or no cell at all
    blank = nothing if isinstance(attr, str) and not attr else pc.binary_join_element_wise(
        *ref, "/>", "")
    cell = pc.if_else(pc.fill_null(pc.equal(texts, ""), False), blank, as_text)
    return pc.coalesce(cell, as_number, nothing)


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
    finite = np.isfinite(values)
    return pc.cast(pa.array(values, mask=~finite), pa.string())


def _split(s: pd.Series) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """A column as (text or null, number or NaN, is a date) per row."""
    n = len(s)
    missing = s.isna().to_numpy()
    no_dates = np.zeros(n, dtype=bool)
    no_numbers = np.full(n, np.nan)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert(None)
        serial = ((s - _EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
        return pa.nulls(n, pa.string()), serial, ~missing
    if pd.api.types.is_bool_dtype(s.dtype):
        marks = np.where(s.to_numpy(dtype=bool, na_value=False), C.YES, C.NO)
        return pa.array(marks, mask=missing, type=pa.string()), no_numbers, no_dates
    if pd.api.types.is_numeric_dtype(s.dtype):
        return (pa.nulls(n, pa.string()), s.to_numpy(dtype=float, na_value=np.nan),
                no_dates)
    if isinstance(s.dtype, pd.StringDtype):
        return pa.array(s.astype(object).where(~missing, None).tolist(), type=pa.string()), \
            no_numbers, no_dates
    return _split_mixed(s.astype(object).where(~missing, None).tolist())


def _split_mixed(values: list) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """A column of mixed Python values: text stays text, numbers numbers, dates dates."""
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
    return pa.array(texts, type=pa.string()), nums, dates


def serial(v: date) -> float:
    """An Excel date serial (days since 1899-12-30, the time as a fraction)."""
    if isinstance(v, datetime):
        if v.tzinfo is not None:
            return (pd.Timestamp(v).tz_convert(None) - _EPOCH) / pd.Timedelta(days=1)
        seconds = v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
        return v.toordinal() - _EPOCH_ORDINAL + seconds / 86400
    return float(v.toordinal() - _EPOCH_ORDINAL)

