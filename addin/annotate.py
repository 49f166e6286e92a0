"""Writers of the annotated copy: the «Проверка» sheet, highlighted cells with comments, and
the «Показатели» sheet. The input file is never modified; .xlsm macros are kept.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from addin.indicators import IndicatorValue
from addin.model import normalize_header
from addin.report import Report
from addin.rules.base import Finding, Severity
from workbook_templates import contract as C

FILLS = {
    Severity.ERROR: PatternFill("solid", fgColor="FFC7CE"),
    Severity.WARNING: PatternFill("solid", fgColor="FFEB9C"),
    Severity.ADVICE: PatternFill("solid", fgColor="DDEBF7"),
}
HEADER_FONT = Font(bold=True)
LINK_FONT = Font(color="0563C1", underline="single")


def write_annotated(src: str | Path, out: str | Path, report: Report,
                    indicators: list[IndicatorValue] | None = None) -> Path:
    """Copy `src` to `out` with the findings written in; `src` stays untouched."""
    src, out = Path(src), Path(out)
    if src.resolve() == out.resolve():
        raise ValueError("annotated copy must not overwrite the checked file")
    wb = load_workbook(src, keep_vba=src.suffix.lower() == ".xlsm")
    annotate_workbook(wb, report.findings)
    if indicators is not None:
        write_indicators_sheet(wb, indicators)
    return save_atomically(wb, out)


def annotate_workbook(wb: Workbook, findings: Iterable[Finding]) -> None:
    """Rewrite the Проверка sheet and highlight the cells the findings point at."""
    findings = sorted(findings, key=Finding.sort_key)
    ws = _fresh_sheet(wb, C.CHECK)
    for i, f in enumerate(findings, start=C.FIRST_DATA_ROW):
        values = [f.severity.value, f.code, f.sheet, f.row, f.column, f.value, f.message_ru,
                  f.hint_ru]
        for j, value in enumerate(values, start=1):
            _put(ws.cell(row=i, column=j), value)
        target = _locate(wb, f)
        if target is not None:
            ref = f"'{f.sheet}'!{target}"
            cell = ws.cell(row=i, column=1)
            cell.hyperlink = Hyperlink(ref=cell.coordinate, location=ref, display=f.severity.value)
            cell.font = LINK_FONT
            _mark(wb[f.sheet][target], f)
        ws.cell(row=i, column=1).fill = FILLS[f.severity]


def write_indicators_sheet(wb: Workbook, values: list[IndicatorValue]) -> None:
    """Rewrite the Показатели sheet with the indicator table."""
    ws = _fresh_sheet(wb, C.INDICATORS)
    for v in values:
        met = "—" if v.met is None else ("да" if v.met else "нет")
        ws.append([v.title, v.numerator, v.denominator, v.value, v.target, met, v.note])


def save_atomically(wb: Workbook, out: Path) -> Path:
    """Save to a temporary file beside `out`, then rename: never a half-written file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=out.suffix, dir=out.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _put(cell, value: object) -> None:
    """Write a value; text stays text even when it starts with = (a user's cell, quoted in a
    finding, must never become a formula in the copy)."""
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"


def _fresh_sheet(wb: Workbook, sheet: C.Sheet) -> Worksheet:
    """The sheet emptied to its header row (created at the contract position if absent)."""
    if sheet.name in wb.sheetnames:
        ws = wb[sheet.name]
        if ws.max_row > C.HEADER_ROW:
            ws.delete_rows(C.FIRST_DATA_ROW, ws.max_row)
    else:
        ws = wb.create_sheet(sheet.name)
    if ws.cell(row=C.HEADER_ROW, column=1).value is None:
        for j, col in enumerate(sheet.columns, start=1):
            ws.cell(row=C.HEADER_ROW, column=j, value=col.header).font = HEADER_FONT
    return ws


def _locate(wb: Workbook, f: Finding) -> str | None:
    """Cell coordinate of a finding in this workbook (columns found by header, not position)."""
    if f.sheet not in wb.sheetnames or f.row is None:
        return None
    ws = wb[f.sheet]
    if f.sheet == C.SCHOOL.name:
        return f"B{f.row}"
    if f.column is None:
        return f"A{f.row}"
    wanted = normalize_header(f.column)
    for cell in ws[C.HEADER_ROW]:
        if normalize_header(cell.value) == wanted:
            return f"{cell.column_letter}{f.row}"
    return f"A{f.row}"


def _mark(cell, f: Finding) -> None:
    """Colour a cell by its worst finding and add the message as a comment."""
    current = cell.comment.text + "\n" if cell.comment and cell.comment.author == "Проверка" else ""
    cell.comment = Comment(f"{current}{f.code}: {f.message_ru}", "Проверка", width=300, height=120)
    if cell.fill is None or cell.fill.fgColor.rgb not in _stronger_than(f.severity):
        cell.fill = FILLS[f.severity]


def _stronger_than(sev: Severity) -> set[str]:
    """Fill colours of severities at least as serious as `sev` (not to be overwritten)."""
    return {FILLS[s].fgColor.rgb for s in Severity if s.rank <= sev.rank}
