"""The «Предложения пар» sheet: suggested pairs in the columns of «Пары и группы», each with
its reason, and beside them the plan (what is missing to each target).

``write_suggestions_sheet`` works on an open openpyxl workbook, so any copy the program writes
(this module's own, or the annotated copy) can carry the sheet; ``write_suggestions`` writes a
copy of a book with it. The checked book itself is never modified; .xlsm macros are kept.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from addin.annotate import save_atomically
from addin.pair_suggest import SuggestionResult
from addin.plans import MET, Gap
from workbook_templates import contract as C

SHEET_NAME = "Предложения пар"
REASON_HEADER = "Почему предложено"
PLAN_HEADER = "План: чего не хватает до целей"
HOW_TO = ("Предложения программы. Столбцы A–{last} повторяют лист «Пары и группы»: скопируйте "
          "нужные строки туда (порядок столбцов — как в стандартном шаблоне). Даты — "
          "планируемые: при переносе впишите фактические даты приказа о закреплении и "
          "соглашения. Ограничение: не больше {capacity} наставляемых на наставника.")
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
DATE_FORMAT = "DD.MM.YYYY"
WRAP = Alignment(wrap_text=True, vertical="top")


def write_suggestions(src: str | Path, out: str | Path, result: SuggestionResult,
                      gaps: list[Gap] | None = None) -> Path:
    """Copy ``src`` to ``out`` with the «Предложения пар» sheet; ``src`` stays untouched."""
    src, out = Path(src), Path(out)
    if src.resolve() == out.resolve():
        raise ValueError("the copy must not overwrite the book")
    wb = load_workbook(src, keep_vba=src.suffix.lower() == ".xlsm")
    write_suggestions_sheet(wb, result, gaps or [])
    return save_atomically(wb, out)


def write_suggestions_sheet(wb: Workbook, result: SuggestionResult,
                            gaps: list[Gap]) -> Worksheet:
    """(Re)create the «Предложения пар» sheet after «Пары и группы» (or at the end)."""
    if SHEET_NAME in wb.sheetnames:
        del wb[SHEET_NAME]
    after = wb.sheetnames.index(C.PAIRS.name) + 1 if C.PAIRS.name in wb.sheetnames else None
    ws = wb.create_sheet(SHEET_NAME, after)
    columns = list(C.PAIRS.columns)
    for j, col in enumerate(columns, start=1):
        _header(ws, 1, j, col.header, col.width)
    reason_col = len(columns) + 1
    _header(ws, 1, reason_col, REASON_HEADER, 90)
    ws.cell(row=1, column=1).comment = Comment(
        HOW_TO.format(last=get_column_letter(len(columns)), capacity=result.capacity),
        "nastavnik", width=420, height=160)
    for i, s in enumerate(result.suggestions, start=C.FIRST_DATA_ROW):
        row = s.row()
        for j, col in enumerate(columns, start=1):
            cell = _put(ws, i, j, row.get(col.key))
            if col.type is C.ColType.DATE and cell.value is not None:
                cell.number_format = DATE_FORMAT
        _put(ws, i, reason_col, s.reason_ru).alignment = WRAP
    _plan_block(ws, reason_col + 2, result, gaps)
    ws.freeze_panes = "A2"
    return ws


def _plan_block(ws: Worksheet, col: int, result: SuggestionResult, gaps: list[Gap]) -> None:
    """The plan beside the table: a summary line, the gaps, the mentees left unmatched."""
    _header(ws, 1, col, PLAN_HEADER, 80)
    lines = [result.summary_ru()]
    lines += [f"{g.title}: {g.text_ru}" for g in gaps if g.status != MET]
    if result.unmatched:
        lines.append("Без предложения: " + "; ".join(
            f"{k} — {v}" for k, v in list(result.unmatched.items())[:50]))
    for i, text in enumerate(lines, start=2):
        _put(ws, i, col, text).alignment = WRAP


def _put(ws: Worksheet, row: int, col: int, value: object):  # noqa: ANN202 (a cell)
    """A cell whose text stays text even when a user's ID in it starts with «=»."""
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
    return cell


def _header(ws: Worksheet, row: int, col: int, text: str, width: float) -> None:
    cell = ws.cell(row=row, column=col, value=text)
    cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, WRAP
    ws.column_dimensions[get_column_letter(col)].width = width
