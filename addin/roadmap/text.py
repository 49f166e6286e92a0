"""Roadmaps pasted as text (.txt): a table copied out of Word, tabbed or one cell per line."""

from __future__ import annotations

from pathlib import Path

from addin.roadmap.columns import header_key, header_mapping
from addin.roadmap.table import Row, SourceTable, clean, join


def text_tables(path: Path) -> list[SourceTable]:
    """Every table of a text file (UTF-8 or Windows-1251)."""
    return _txt_tables(_read_text(path))


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _txt_tables(text: str) -> list[SourceTable]:
    """Tables of pasted text: one row per line (each from a header line; tabbed lines without
    a header are tables too), else Word's «one cell per line» paste."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    tables: list[SourceTable] = []
    before: list[str] = []
    block: list[Row] = []

    def flush() -> None:
        if block:
            tables.append(SourceTable(list(block), before="\n".join(before)))
            before.clear()
            block.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if "\t" in line and header_mapping(line.split("\t")) is not None:
            flush()
            rows, used = _rows_per_line(lines[i:])
            tables.append(SourceTable(rows, header=0, before="\n".join(before)))
            before.clear()
            i += max(used, 1)
            continue
        if "\t" in line:
            block.append(Row([clean(c) for c in line.split("\t")]))
        elif line.strip():
            flush()
            before.append(line.strip())
        i += 1
    flush()
    if not any(t.header is not None for t in tables):
        table = _cells_per_line(lines)
        if table is not None:
            return [table]
    return tables


def _rows_per_line(lines: list[str]) -> tuple[list[Row], int]:
    """Rows of tab-separated cells, from the header line to the end of the table, and the
    number of lines used.

    A line without a tab ends the table, unless a tabbed line follows: then it continues the
    last cell of the row above (a line break inside a cell).
    """
    rows: list[Row] = []
    blank = False
    for i, line in enumerate(lines):
        if not line.strip():
            blank = True
            continue
        if "\t" not in line:
            following = next((x for x in lines[i + 1:] if x.strip()), "")
            if "\t" not in following or not rows \
                    or header_mapping(following.split("\t")) is not None:
                return rows, i  # the end of the table (or the title of the next one)
            last = rows[-1].cells
            j = max((k for k, c in enumerate(last) if c), default=0)
            last[j] = join(last[j], clean(line))
            continue
        if rows and header_mapping(line.split("\t")) is not None:
            return rows, i  # the header of the next table
        rows.append(Row([clean(c) for c in line.split("\t")], after_blank=blank))
        blank = False
    return rows, len(lines)


def _cells_per_line(lines: list[str]) -> SourceTable | None:
    """Word's paste of one cell per line: «\\tcell»; a line without a tab continues the cell.

    The header is the first run of cells that all name a column; body rows are cut by the
    number of header cells. After two blank lines, a line without a tab ends the table.
    """
    cells: list[list[str]] = []
    blanks = 0
    for line in lines:
        if not line.strip():
            blanks += 1
            continue
        if line.startswith("\t"):
            cells.append([line[1:]])
        elif cells and blanks < 2:
            cells[-1].append(line)
        elif cells and _header_found(cells):
            break
        blanks = 0
    texts = [clean("\n".join(c)) for c in cells]
    for start in range(len(texts)):
        width = 0
        while start + width < len(texts) and header_key(texts[start + width]):
            width += 1
        if width >= 2 and header_mapping(texts[start:start + width]) is not None:
            body = texts[start + width:]
            rows = [Row(texts[start:start + width])]
            rows += [Row(body[k:k + width]) for k in range(0, len(body), width)]
            return SourceTable(rows, header=0)
    return None


def _header_found(cells: list[list[str]]) -> bool:
    texts = [clean("\n".join(c)) for c in cells]
    return any(header_mapping(texts[i:i + n]) is not None
               for i in range(len(texts)) for n in range(2, 9))
