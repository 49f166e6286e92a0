"""The «Предложения пар» sheet: suggested pairs in the columns of «Пары и группы», each with
its reason, and beside them the plan (what is missing to each target).

``write_suggestions`` writes a copy of a book with the sheet placed after «Пары и группы». Like
the annotated copy it edits the .xlsx/.xlsm package (`annotate.edit_copy`): only the new sheet,
styles.xml and the workbook's sheet list change, everything else (VBA, users' sheets, data
validations) is copied byte for byte, so a 5,000-participant book takes a fraction of a second.
The checked book itself is never modified. A copy of a copy gets its sheet refilled in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from addin.plan.gaps import MET, Gap
from addin.plan.pairs import SuggestionResult
from addin.xlsx.annotate import edit_copy, write_table
from addin.xlsx.comments import update_notes
from addin.xlsx.package import Package, column_letter, q
from addin.xlsx.sheet import Column, SheetTail
from addin.xlsx.styles import Styles
from workbook_templates import contract as C

SHEET_NAME = "Предложения пар"
REASON_HEADER = "Почему предложено"
PLAN_HEADER = "План: чего не хватает до целей"
#: The note on A1: its first line marks it as ours (a later copy replaces it, never stacks).
HOW_TO_MARK = "Предложения программы."
HOW_TO = ("Столбцы A–{last} повторяют лист «Пары и группы»: скопируйте нужные строки туда "
          "(порядок столбцов — как в стандартном шаблоне). Даты — планируемые: при переносе "
          "впишите фактические даты приказа о закреплении и соглашения. Ограничение: не больше "
          "{capacity} наставляемых на наставника.")
NOTE_AUTHOR = "nastavnik"
HEADER_RGB = "FFDDEBF7"
DATE_FORMAT = "DD.MM.YYYY"
REASON_WIDTH, GAP_WIDTH, PLAN_WIDTH = 90, 8.43, 80
#: Mentees named in the plan block as left without a suggestion (the rest are counted).
UNMATCHED_SHOWN = 50


def write_suggestions(src: str | Path, out: str | Path, result: SuggestionResult,
                      gaps: list[Gap] | None = None) -> Path:
    """Copy ``src`` to ``out`` with the «Предложения пар» sheet; ``src`` stays untouched.

    Raises ValueError when ``out`` is ``src``, and `annotate.AnnotatedCopyError` (a Russian
    message) when the package cannot be edited."""
    return edit_copy(src, out, lambda pkg, styles: write_suggestions_sheet(
        pkg, styles, result, gaps or []), what="Копию с предложениями пар")


def write_suggestions_sheet(pkg: Package, styles: Styles, result: SuggestionResult,
                            gaps: Sequence[Gap]) -> None:
    """(Re)fill the «Предложения пар» sheet of an open package (new: after «Пары и группы»)."""
    pairs = list(C.PAIRS.columns)
    columns = [*(Column(c.header, c.width) for c in pairs), Column(REASON_HEADER, REASON_WIDTH),
               Column("", GAP_WIDTH), Column(PLAN_HEADER, PLAN_WIDTH)]
    header = styles.xf(font=styles.font(bold=True), fill=styles.fill(HEADER_RGB), wrap=True)
    wrap, day = styles.xf(wrap=True), styles.xf(num_fmt=styles.num_fmt(DATE_FORMAT))
    date_cols = {j for j, c in enumerate(pairs) if c.type is C.ColType.DATE}
    serial = _serial_of(pkg)
    lines = _plan_lines(result, gaps)
    rows, row_styles = [], []
    for i in range(max(len(result.suggestions), len(lines))):
        if i < len(result.suggestions):
            s = result.suggestions[i]
            values = s.row()
            cells = [serial(values.get(c.key)) for c in pairs] + [s.reason_ru]
            st = [day if j in date_cols else 0 for j in range(len(pairs))] + [wrap]
        else:
            cells, st = [None] * (len(pairs) + 1), [0] * (len(pairs) + 1)
        rows.append([*cells, None, lines[i] if i < len(lines) else None])
        row_styles.append([*st, 0, wrap])
    ref = write_table(pkg, styles, SHEET_NAME, columns, rows, row_styles, header_xf=header,
                      position=_after_pairs(pkg))
    tail = SheetTail.split(pkg.read(ref.part))
    note = HOW_TO.format(last=column_letter(len(pairs)), capacity=result.capacity)
    if update_notes(pkg, ref.part, tail, {"A1": note}, mark=HOW_TO_MARK, author=NOTE_AUTHOR):
        pkg.write(ref.part, tail.join())


def _plan_lines(result: SuggestionResult, gaps: Sequence[Gap]) -> list[str]:
    """The plan beside the table: a summary line, the gaps, the mentees left unmatched."""
    lines = [result.summary_ru()]
    lines += [f"{g.title}: {g.text_ru}" for g in gaps if g.status != MET]
    if result.unmatched:
        lines.append("Без предложения: " + "; ".join(
            f"{k} — {v}" for k, v in list(result.unmatched.items())[:UNMATCHED_SHOWN]))
    return lines


def _after_pairs(pkg: Package) -> int | None:
    """Position after «Пары и группы» in the workbook's sheet list (None: at the end)."""
    names = [el.get("name") for el in pkg.workbook.iter(q("sheet"))]
    return names.index(C.PAIRS.name) + 1 if C.PAIRS.name in names else None


def _serial_of(pkg: Package):  # noqa: ANN202 (a converter)
    """Dates as the workbook's date serials (1900 or 1904 system); other values as they are."""
    epoch = date(1904, 1, 1) if pkg.date1904() else date(1899, 12, 30)

    def convert(value: object) -> object:
        if isinstance(value, date):  # a datetime too: its day
            day = value.date() if isinstance(value, datetime) else value
            return (day - epoch).days
        return value

    return convert
