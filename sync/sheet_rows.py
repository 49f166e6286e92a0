"""The data rows of the master's tables, put into the package after xlsxwriter wrote it.

xlsxwriter spends ~10 µs of Python on a cell, and a city's master has half a million of them
(«Дорожные карты», «До цели»). So the master's writer lets xlsxwriter write each table's
title, header, filter and panes, keeps the rows as `Block`s, and `fill` puts them into the
written package afterwards: the rows are written by `addin.xlsx.rows` (the package editor's
cell writer, in Arrow), their formats (a number format, a fill) added to styles.xml by the
package writer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from addin.xlsx.package import Package, column_index, column_letter
from addin.xlsx.rows import cells_of, rows_xml
from addin.xlsx.styles import Styles

DATE_FORMAT = "dd.mm.yyyy"
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
        pieces.append(_block_xml(block, styles))
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


def _block_xml(block: Block, styles: _StyleIndex) -> bytes:
    """The <row> elements of a block: each cell's format is its column's number format (a
    date's own where the column has none) and its row's fill."""
    columns, formats = [], []
    for j in range(len(block.frame.columns)):
        cells = cells_of(block.frame.iloc[:, j])
        num_format, fills = block.formats[j], block.fills[j]
        if fills is None and not cells.dates.any():
            formats.append(styles(num_format, None))
        else:
            fills = fills if fills is not None else [None] * len(cells.dates)
            formats.append([styles((num_format or DATE_FORMAT) if d else num_format, f)
                            for d, f in zip(cells.dates, fills, strict=True)])
        columns.append(cells)
    return rows_xml(columns, block.first + 1, formats)
