"""Writers of the annotated copy: the «Проверка» sheet, highlighted cells with notes, and the
«Показатели» sheet. The input file is never modified.

The copy is made by editing the .xlsx/.xlsm package (see `addin.xlsx.package`), not by loading the
book: only the output sheets, styles.xml, the comments/VML parts of the sheets with findings and
the few elements after their cells change; everything else (VBA, users' sheets and columns,
data validations, drawings) is copied byte for byte.

* «Проверка»: the findings, sorted, one per row; column A links to the offending cell through
  the hyperlink's `location` (a '#Sheet!A1' target is rewritten by LibreOffice into a link to
  the file). Text is written as inline strings: a value starting with = + - @ stays text.
* Highlights: one conditional format per severity over the offending cells (a constant-true
  rule with a fill), so the cells themselves are not rewritten and the user's own fills survive.
* Notes: each offending cell gets a note beginning with «Замечания проверки:».
Annotating an annotated copy replaces its Проверка sheet, highlights and notes.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree

from addin.atomic_file import replacing
from addin.errors import WorkbookError
from addin.indicators import IndicatorValue
from addin.model import normalize_header
from addin.report import Report
from addin.rules.base import Finding, Severity
from addin.xlsx.comments import update_notes
from addin.xlsx.package import (
    NS_MAIN,
    REL_COMMENTS,
    REL_SHARED_STRINGS,
    Package,
    SheetRef,
    column_index,
    parse,
    q,
    row_index,
)
from addin.xlsx.rows import cells_of, rows_xml
from addin.xlsx.sheet import (
    Column,
    SharedStrings,
    SheetTail,
    element,
    header_row,
    hyperlinks_xml,
    new_sheet_xml,
    output_sheet,
)
from addin.xlsx.styles import Styles
from workbook_templates import contract as C

#: Fill colours by severity (ARGB), shared with the buttons.
SEVERITY_RGB: dict[Severity, str] = {
    Severity.ERROR: "FFFFC7CE",
    Severity.WARNING: "FFFFEB9C",
    Severity.ADVICE: "FFDDEBF7",
}
LINK_RGB = "FF0563C1"
#: A cell value quoted on the Проверка sheet is cut to this many characters (plus «…»).
VALUE_LIMIT = 200
#: Messages and hints are cut here (Excel holds at most 32,767 characters in a cell).
TEXT_LIMIT = 1000
#: The rule of our conditional formats: always true, and recognisable when we annotate again.
CF_FORMULA = '"Проверка"<>""'
SUPPORTED = (".xlsx", ".xlsm")
_OUTPUT_SHEETS = (C.CHECK.name, C.INDICATORS.name)


def __getattr__(name: str) -> object:
    """`FILLS`: the severity colours as openpyxl fills (for writers that use openpyxl)."""
    if name == "FILLS":
        from openpyxl.styles import PatternFill

        return {s: PatternFill("solid", fgColor=rgb) for s, rgb in SEVERITY_RGB.items()}
    raise AttributeError(name)


class AnnotatedCopyError(WorkbookError):
    """The annotated copy cannot be made from this file."""

    code = "copy-failed"
    status_ru = "копия не записана"


def write_annotated(src: str | Path, out: str | Path, report: Report,
                    indicators: list[IndicatorValue] | None = None) -> Path:
    """Copy `src` to `out` with the findings written in; `src` stays untouched."""
    def edit(pkg: Package, styles: Styles) -> None:
        findings = sorted(report.findings, key=Finding.sort_key)
        cells = _Locator(pkg).cells(findings)
        _write_check_sheet(pkg, styles, findings, cells)
        if indicators is not None:
            _write_indicators_sheet(pkg, styles, indicators)
        _mark_cells(pkg, styles, findings, cells)

    return edit_copy(src, out, edit)


def write_indicators_copy(src: str | Path, out: str | Path,
                          values: list[IndicatorValue]) -> Path:
    """Copy `src` to `out` with the «Показатели» sheet filled in; `src` stays untouched."""
    return edit_copy(src, out, lambda pkg, styles: _write_indicators_sheet(pkg, styles, values))


def save_atomically(wb, out: Path) -> Path:  # noqa: ANN001 - an openpyxl Workbook
    """Save an openpyxl workbook to a temporary file beside `out`, then rename."""
    with replacing(out) as tmp:
        wb.save(tmp)
    return out


# -- the package edit --------------------------------------------------------------------------
def edit_copy(src: str | Path, out: str | Path, edit: Callable[[Package, Styles], None], *,
              what: str = "Копию с замечаниями") -> Path:
    """Copy `src` to `out` (atomically) with `edit` applied to the package and its styles;
    `src` stays untouched. A format or package the edit cannot handle is an
    AnnotatedCopyError with a Russian message (`what` names the copy in it)."""
    src, out = Path(src), Path(out)
    if src.resolve() == out.resolve():
        raise ValueError("the copy must not overwrite the book it is made from")
    if src.suffix.lower() not in SUPPORTED:
        raise AnnotatedCopyError(
            f"{what} можно записать только для книги .xlsx или .xlsm, а «{src.name}» "
            "— другой формат. Сохраните книгу как .xlsx и проверьте ещё раз.", source=src.name)
    if out.suffix.lower() != src.suffix.lower():
        raise AnnotatedCopyError(
            f"Копия книги {src.suffix.lower()} должна иметь то же расширение "
            f"{src.suffix.lower()}: иначе Excel её не откроет. Укажите имя вида "
            f"«{out.stem}{src.suffix.lower()}».", source=src.name)
    with _package(src) as pkg:
        if etree.QName(pkg.workbook).namespace != NS_MAIN:  # e.g. «Strict Open XML»
            raise AnnotatedCopyError(
                f"Книга «{src.name}» сохранена в формате «Strict Open XML». Сохраните её как "
                "обычную «Книгу Excel (.xlsx)» и проверьте ещё раз.", source=src.name)
        styles = Styles(pkg)
        edit(pkg, styles)
        styles.save()
        return pkg.save(out)


@contextmanager
def _package(src: Path) -> Iterator[Package]:
    """The open package; a damaged one is an AnnotatedCopyError, never a traceback."""
    try:
        with Package(src) as pkg:
            yield pkg
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError, ValueError, IndexError) as exc:
        raise AnnotatedCopyError(
            f"Не удалось записать копию: книга «{src.name}» повреждена или записана не по "
            "стандарту Office Open XML. Откройте её в Excel или LibreOffice, сохраните как "
            ".xlsx и попробуйте ещё раз.", source=src.name) from exc


# -- where a finding points --------------------------------------------------------------------
class _Locator:
    """Cell references of findings; columns are found by their header, not by position."""

    def __init__(self, pkg: Package) -> None:
        self._pkg = pkg
        self._sheets = {s.name: s for s in pkg.sheets()}
        self._strings = SharedStrings(pkg, pkg.workbook_target(REL_SHARED_STRINGS))
        self._headers: dict[str, dict[str, str]] = {}

    def cells(self, findings: Sequence[Finding]) -> list[str | None]:
        return [self.cell(f) for f in findings]

    def cell(self, f: Finding) -> str | None:
        if f.sheet not in self._sheets or f.row is None or f.sheet in _OUTPUT_SHEETS:
            return None
        if f.sheet == C.SCHOOL.name:
            return f"B{f.row}"
        if f.column is None:
            return f"A{f.row}"
        return f"{self._header(f.sheet).get(normalize_header(f.column), 'A')}{f.row}"

    def _header(self, sheet: str) -> dict[str, str]:
        if sheet not in self._headers:
            found: dict[str, str] = {}
            row = header_row(self._pkg, self._sheets[sheet].part, self._strings, C.HEADER_ROW)
            for letter, text in row.items():
                found.setdefault(normalize_header(text), letter)
            self._headers[sheet] = found
        return self._headers[sheet]


# -- the output sheets -------------------------------------------------------------------------
def _write_check_sheet(pkg: Package, styles: Styles, findings: Sequence[Finding],
                       cells: Sequence[str | None]) -> None:
    link_font = styles.font(color=LINK_RGB, underline=True)
    first = {(s, linked): styles.xf(font=link_font if linked else 0,
                                    fill=styles.fill(SEVERITY_RGB[s]))
             for s in Severity for linked in (True, False)}
    rows, row_styles, links = [], [], []
    for i, (f, cell) in enumerate(zip(findings, cells, strict=True), start=C.FIRST_DATA_ROW):
        rows.append([f.severity.value, f.code, f.sheet, f.row, f.column,
                     shorten(f.value, VALUE_LIMIT), shorten(f.message_ru), shorten(f.hint_ru)])
        row_styles.append([first[f.severity, cell is not None]])
        if cell is not None:
            links.append((f"A{i}", f"{quote_sheet(f.sheet)}!{cell}", f.severity.value))
    write_table(pkg, styles, C.CHECK.name, contract_columns(C.CHECK), rows, row_styles,
                links)


def _write_indicators_sheet(pkg: Package, styles: Styles, values: list[IndicatorValue]) -> None:
    rows = []
    for v in values:
        met = "—" if v.met is None else ("да" if v.met else "нет")
        rows.append([v.title, v.numerator, v.denominator, v.value, v.target, met, v.note])
    write_table(pkg, styles, C.INDICATORS.name, contract_columns(C.INDICATORS), rows)


def contract_columns(sheet: C.Sheet) -> list[Column]:
    """The columns (header, width) of a sheet of the contract."""
    return [Column(c.header, c.width) for c in sheet.columns]


def write_table(pkg: Package, styles: Styles, name: str, columns: Sequence[Column],
                rows: list[list[object]], row_styles: list[list[int]] | None = None,
                links: Sequence[tuple[str, str, str]] = (), *, header_xf: int | None = None,
                position: int | None = None) -> SheetRef:
    """Rewrite the sheet `name` to its header row plus `rows` (values, or None for an empty
    cell); a missing sheet is created at `position` (at the end when None). The header is
    bold unless `header_xf` gives its format (a column without a header stays plain);
    `links` are (cell, location, display)."""
    if header_xf is None:
        header_xf = styles.xf(font=styles.font(bold=True))
    header = _rows_text([[c.header for c in columns]], C.HEADER_ROW, len(columns),
                        [[header_xf if c.header else 0 for c in columns]])
    body = _rows_text(rows, C.FIRST_DATA_ROW, len(columns), row_styles)
    ref = next((s for s in pkg.sheets() if s.name == name), None)
    root = parse(pkg.read(ref.part) if ref else new_sheet_xml(columns))
    data = output_sheet(root, header, body, hyperlinks_xml(links), len(columns),
                        C.HEADER_ROW + len(rows))
    if ref is not None:
        pkg.write(ref.part, data)
        return ref
    return pkg.add_sheet(name, data, position)


def _rows_text(rows: list[list[object]], first_row: int, width: int,
               row_styles: list[list[int]] | None) -> str:
    """<row> elements of rows of values (a short row: empty cells after its values), each
    cell formatted by its row's style list (0 past its end)."""
    columns = [cells_of([r[j] if j < len(r) else None for r in rows]) for j in range(width)]
    styles = [0 if row_styles is None else [st[j] if j < len(st) else 0 for st in row_styles]
              for j in range(width)]
    return rows_xml(columns, first_row, styles).decode("utf-8")


def shorten(text: str | None, limit: int = TEXT_LIMIT) -> str | None:
    """Text cut to `limit` characters, «…» marking the cut."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + "…"


def quote_sheet(name: str) -> str:
    """A sheet name as a formula reference writes it."""
    return "'" + name.replace("'", "''") + "'"


# -- highlights and notes in the data sheets ---------------------------------------------------
def _mark_cells(pkg: Package, styles: Styles, findings: Sequence[Finding],
                cells: Sequence[str | None]) -> None:
    by_sheet: dict[str, dict[str, list[Finding]]] = {}
    for f, cell in zip(findings, cells, strict=True):
        if cell is not None:
            by_sheet.setdefault(f.sheet, {}).setdefault(cell, []).append(f)
    dxf = {s: styles.dxf_fill(SEVERITY_RGB[s]) for s in Severity} if by_sheet else {}
    for ref in pkg.sheets():
        if ref.name not in _OUTPUT_SHEETS:
            _mark_sheet(pkg, ref, by_sheet.get(ref.name, {}), dxf)


def _mark_sheet(pkg: Package, ref: SheetRef, marks: dict[str, list[Finding]],
                dxf: dict[Severity, int]) -> None:
    """Replace our highlights and notes on one sheet by `marks` (cell ref -> findings)."""
    data = pkg.read(ref.part)
    has_notes = bool(pkg.rels(ref.part).targets(REL_COMMENTS))
    if not marks and b"conditionalFormatting" not in data and not has_notes:
        return
    tail = SheetTail.split(data)
    changed = _drop_our_formats(tail)
    if marks:
        _add_formats(tail, marks, dxf)
        changed = True
    notes = {cell: "\n".join(f"{f.code}: {shorten(f.message_ru)}" for f in fs)
             for cell, fs in marks.items()}
    changed |= update_notes(pkg, ref.part, tail, notes)
    if changed:
        pkg.write(ref.part, tail.join())


def _is_ours(cf: etree._Element) -> bool:
    rules = cf.findall(q("cfRule"))
    return bool(rules) and all(
        r.get("type") == "expression"
        and [(f.text or "").replace(" ", "") for f in r.findall(q("formula"))] == [CF_FORMULA]
        for r in rules)


def _drop_our_formats(tail: SheetTail) -> bool:
    ours = [cf for cf in tail.find_all("conditionalFormatting") if _is_ours(cf)]
    for cf in ours:
        tail.root.remove(cf)
    return bool(ours)


def _add_formats(tail: SheetTail, marks: dict[str, list[Finding]],
                 dxf: dict[Severity, int]) -> None:
    """One conditional format per severity over the cells whose worst finding has it."""
    worst = {cell: min((f.severity for f in fs), key=lambda s: s.rank)
             for cell, fs in marks.items()}
    priority = max((int(r.get("priority") or 0) for cf in tail.find_all("conditionalFormatting")
                    for r in cf.iter(q("cfRule"))), default=0)
    for severity in sorted(Severity, key=lambda s: s.rank):
        refs = [cell for cell, s in worst.items() if s == severity]
        if not refs:
            continue
        priority += 1
        tail.insert(element(
            f'<conditionalFormatting sqref="{sqref(refs)}"><cfRule type="expression" '
            f'dxfId="{dxf[severity]}" priority="{priority}"><formula>{escape(CF_FORMULA)}'
            f"</formula></cfRule></conditionalFormatting>"))


def sqref(refs: Sequence[str]) -> str:
    """Cells as a reference list, runs down a column joined into ranges (C2:C5 D7)."""
    by_column: dict[str, list[int]] = {}
    for ref in refs:
        by_column.setdefault(ref.rstrip("0123456789"), []).append(row_index(ref))
    parts = []
    for letters in sorted(by_column, key=column_index):
        rows = sorted(set(by_column[letters]))
        start = prev = rows[0]
        for r in [*rows[1:], None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            span = f"{letters}{start}" if start == prev else f"{letters}{start}:{letters}{prev}"
            parts.append(span)
            if r is not None:
                start = prev = r
    return " ".join(parts)
