"""Books of template 1.0 for the upgrade tests, and the cell-by-cell comparison.

`tests/data/v1_0/` holds files the 1.0 builder wrote (the template, the .xlsm, one demo
school). The other 1.0 books are made from today's demo books by undoing the declared steps
of 1.1 (which only add columns); a test checks that this gives exactly the cells of the
frozen 1.0 demo school.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from addin.raw import normalize_header
from workbook_templates import contract as C
from workbook_templates import versions as V

V1_0 = Path(__file__).parent / "data" / "v1_0"
OLD = "1.0"
#: Sheets the upgrade makes anew (program output, lists, instructions).
REBUILT = {s.name for s in C.SHEETS if s.kind not in (C.SheetKind.FORM, C.SheetKind.TABLE)}


def downgrade(src: Path, out: Path) -> Path:
    """A book of the current version as the 1.0 builder would have made it: the columns 1.1
    added removed, the version 1.0."""
    wb = load_workbook(src)
    for _, step in V.steps_between(OLD):
        assert isinstance(step, V.AddColumn), "only added columns can be undone here"
        ws = wb[step.sheet]
        for cell in ws[C.HEADER_ROW]:
            if normalize_header(cell.value) == normalize_header(step.header):
                ws.delete_cols(cell.column)
                break
    ws = wb[C.INSTRUCTIONS.name]
    for row in ws.iter_rows(min_col=1, max_col=2):
        if row[0].value == C.VERSION_LABEL:
            row[1].value = OLD
    wb.save(out)
    return out


def cells(path: Path) -> dict[str, dict[tuple[int, Any], Any]]:
    """Non-empty cells of every kept sheet: table sheets by (row, header), the form by
    (row of the label, label), other sheets by (row, column number)."""
    wb = load_workbook(path)
    out: dict[str, dict[tuple[int, Any], Any]] = {}
    for ws in wb.worksheets:
        if ws.title in REBUILT or ws.title == "xlwings.conf":
            continue
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        got: dict[tuple[int, Any], Any] = {}
        kind = next((s.kind for s in C.SHEETS if s.name == ws.title), None)
        head = rows[0] if rows else []
        # a column without a header is matched by its place among such columns (the
        # upgrade keeps them, in order, after the template's columns)
        unnamed = [c for c in range(1, max((len(r) for r in rows), default=0) + 1)
                   if (c > len(head) or head[c - 1] in (None, ""))
                   and any(c <= len(r) and r[c - 1] not in (None, "") for r in rows)]
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row, start=1):
                if v is None or v == "":
                    continue
                if kind is C.SheetKind.TABLE:
                    header = head[c - 1] if c - 1 < len(head) else None
                    key = (r, ("без заголовка", unnamed.index(c)) if header in (None, "")
                           else header)
                elif kind is C.SheetKind.FORM:
                    key = (r, row[0]) if c == 2 else (r, f"col{c}")
                else:
                    key = (r, c)
                got[key] = _same(v)
        out[ws.title] = got
    return out


def _same(v: Any) -> Any:
    if isinstance(v, dt.datetime) and v.time() == dt.time():
        return v.date()
    return v


Cells = dict[str, dict[tuple[int, Any], Any]]


def lost_or_changed(a: Cells, b: Cells) -> list[str]:
    """Every non-empty cell of the old book `a` that is missing or different in the new `b`
    (through the declared mapping of 1.0 -> current: only added columns, so names stay)."""
    problems = []
    form = C.SCHOOL.name
    unlabeled = [[v for (r, k), v in sorted(book.get(form, {}).items(), key=lambda i: i[0][0])
                  if k is None] for book in (a, b)]
    if unlabeled[0] != unlabeled[1]:  # values without a label: kept below the form, in order
        problems.append(f"{form}: {unlabeled[0]!r} -> {unlabeled[1]!r}")
    for sheet, got in a.items():
        for (row, key), value in got.items():
            if sheet == form:
                have = {k: v for (r, k), v in b.get(sheet, {}).items()}
                if key is None or isinstance(key, str) and key.startswith("col"):
                    continue  # unlabeled: above; the help column is the template's own
                other = have.get(key)
            else:
                other = b.get(sheet, {}).get((row, key))
            if other != value:
                problems.append(f"{sheet}!{row}/{key}: {value!r} -> {other!r}")
    return problems


def added_blank(b: Cells) -> list[str]:
    """Values in the columns the upgrade added (they must be blank)."""
    added = {(s.sheet, s.header) for _, s in V.steps_between(OLD)
             if isinstance(s, V.AddColumn)}
    return [f"{sheet}!{r}/{k}" for sheet, got in b.items() for (r, k), _ in got.items()
            if (sheet, k) in added and r > C.HEADER_ROW]
