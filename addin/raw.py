"""Raw sheets as readers give them, and the gathering of one column over many schools.

A reader yields, per sheet, the header cells (row 1) and one column per position: an Arrow
array typed by calamine (fastexcel) or Python objects (openpyxl, xlwings, Google Sheets).
A batch gathers one contract column of every school into a few *groups*, one per cell type
(all text, all dates, all numbers, Python objects), so the model converts each group once
with vectorized operations instead of once per school.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from workbook_templates import contract as C

#: A reader's column: typed by calamine (Arrow) or Python objects (pandas, dtype object).
Column = pa.Array | pd.Series
Values = list[list[Any]]

_FOLDS = (("–", "-"), ("—", "-"), ("‑", "-"), ("ё", "е"))
_BLANKS = ["", " ", "  ", "\xa0"]
#: Runs of whitespace as Python's str.split() sees them.
_SPACES = r"[\s\p{Z}\x{1c}-\x{1f}\x{85}]+"
#: Whitespace that is more than one plain space: only text holding it needs tidying.
_UNTIDY = (r"  |[\t\n\v\f\r\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}"
           r"\x{2029}\x{202f}\x{205f}\x{3000}]")
#: How fastexcel writes a date cell that sits in a column of mixed types.
CELL_DATETIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?$"


def normalize_header(text: Any) -> str:
    """Header text as compared: case, spaces, dashes and ё do not matter."""
    if text is None:
        return ""
    return _normalized(str(text))


def fold_text(text: str) -> str:
    """`normalize_header` of a text, uncached (for many distinct values, such as names)."""
    s = text.lower()
    for a, b in _FOLDS:  # str.replace: str.translate with a dict costs microseconds a call
        s = s.replace(a, b)
    return " ".join(s.split())  # split() also splits at line breaks and no-break spaces


# headers, sheet names and labels repeat in every school of a batch: fold each once
_normalized = functools.lru_cache(maxsize=8192)(fold_text)


@dataclass
class RawSheet:
    """One sheet as a reader got it: the header cells and one column per position."""

    header: list[Any]
    columns: list[Column]
    height: int

    @classmethod
    def from_rows(cls, rows: Values) -> RawSheet:
        """From rows of Python values, the header in row C.HEADER_ROW."""
        header = list(rows[C.HEADER_ROW - 1]) if rows else []
        body = rows[C.HEADER_ROW:] if rows else []
        width = max([len(header), *(len(r) for r in body)]) if body else len(header)
        header = header + [None] * (width - len(header))
        frame = pd.DataFrame([list(r) + [None] * (width - len(r)) for r in body],
                             columns=range(width), dtype=object)
        return cls(header, [frame[i] for i in range(width)], len(body))

    @classmethod
    def from_arrow(cls, header: list[Any], batch: pa.RecordBatch) -> RawSheet:
        return cls(header, list(batch.columns), batch.num_rows)

    @classmethod
    def empty(cls) -> RawSheet:
        return cls([], [], 0)

    def rows(self) -> Values:
        """Every row as a list of Python values, header first (for form sheets)."""
        cols = [c.to_pylist() if isinstance(c, pa.Array) else
                [None if _isna(v) else v for v in c.tolist()] for c in self.columns]
        return [list(self.header), *(list(r) for r in zip(*cols, strict=True))]


def _isna(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


@dataclass
class Group:
    """Cells of one type from several schools: where they go in the batch, and the values."""

    positions: np.ndarray
    cells: pd.Series  # typed (datetime64, float64, bool) or Python objects
    text: bool  # already text with spaces collapsed and blanks missing


def gather(pieces: Sequence[tuple[int, Column]]) -> list[Group]:
    """One column of many schools as groups by cell type.

    `pieces` are (offset of the school's first row in the batch, the school's column).
    """
    by_type: dict[str, list[tuple[int, Column]]] = {}
    for offset, col in pieces:
        kind = str(col.type) if isinstance(col, pa.Array) else "object"
        if kind != "null":
            by_type.setdefault(kind, []).append((offset, col))
    groups = []
    for kind, items in by_type.items():
        positions = np.concatenate([np.arange(o, o + len(c)) for o, c in items])
        if kind == "object":
            cells = pd.Series(np.concatenate([c.to_numpy(dtype=object) for _, c in items]),
                              dtype=object)
            groups.append(Group(positions, uniform(cells), text=False))
        else:
            groups.append(_arrow_group(positions, pa.concat_arrays([c for _, c in items])))
    return groups


def _arrow_group(positions: np.ndarray, arr: pa.Array) -> Group:
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        text = pc.utf8_trim_whitespace(arr)
        if pc.any(pc.match_substring_regex(text, _UNTIDY)).as_py():  # rare: a scan, no copy
            text = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, _SPACES, " "))
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, arr.type), text)
        cells = pd.Series(text.to_numpy(zero_copy_only=False), dtype=object)
        stamps = pc.fill_null(pc.match_substring_regex(arr, CELL_DATETIME), False)
        if pc.any(stamps).as_py():  # date cells in a column of mixed types: dates again
            mask = stamps.to_numpy(zero_copy_only=False)
            cells[mask] = list(pd.to_datetime(cells[mask]))
            return Group(positions, cells, text=False)
        return Group(positions, cells, text=True)
    cells = arr.to_pandas()
    if isinstance(cells.dtype, pd.ArrowDtype) or cells.dtype == object:
        cells = pd.Series(arr.to_numpy(zero_copy_only=False), dtype=object)
    return Group(positions, cells.reset_index(drop=True), text=False)


def uniform(cells: pd.Series) -> pd.Series:
    """Python cells with blanks as None and dates written as text by fastexcel as dates."""
    blank = cells.isna() | cells.isin(_BLANKS)
    cells = cells.where(~blank, None)
    is_str = cells.map(type).eq(str)
    if is_str.any():
        stamp = is_str & cells.where(is_str, "").str.match(CELL_DATETIME)
        if stamp.any():
            cells = cells.copy()
            cells[stamp] = list(pd.to_datetime(cells[stamp]))
    return cells


def assemble(groups: list[Group], values: list[pd.Series], total: int,
             dtype: str | None) -> pd.Series:
    """One batch column from per-group values; missing cells where no group has a value.

    dtype None keeps Python objects (or the single group's own dtype when it covers all).
    """
    if len(groups) == 1 and len(groups[0].positions) == total:
        return values[0].reset_index(drop=True)
    if dtype is None:
        out = np.full(total, None, dtype=object)
        for g, v in zip(groups, values, strict=True):
            out[g.positions] = v.to_numpy(dtype=object)
        return pd.Series(out, dtype=object)
    out = pd.Series(np.nan if dtype == "float64" else pd.NaT, index=range(total), dtype=dtype)
    for g, v in zip(groups, values, strict=True):
        out.iloc[g.positions] = v.to_numpy()
    return out
