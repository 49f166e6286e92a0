"""Survey answers written into the «Мониторинг» sheet of a copy of the school's book.

Columns are found by their header, as the readers find them: the six columns of template 1.0
always, and the columns of the extra questions (template 1.1) when the book has them. A
participant's earlier row of the same role, wave and school year is rewritten in place (not
duplicated); new answers go below the last filled row. Text is written as inline strings, so a
comment that starts with = + - @ stays text; dates are date serials with a ДД.ММ.ГГГГ format.

Like the annotated copy, the package is edited part by part (`annotate.edit_copy`): only the
«Мониторинг» sheet and styles.xml change; the VBA project, other sheets, a user's own columns on
«Мониторинг» and the validations are copied as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from lxml import etree

from addin.model import normalize_header
from addin.xlsx.annotate import AnnotatedCopyError, edit_copy
from addin.xlsx.package import (
    REL_SHARED_STRINGS,
    Package,
    column_index,
    column_letter,
    parse,
    q,
    serialize,
)
from addin.xlsx.sheet import SharedStrings, clean_text, element, insert_in_order
from addin.xlsx.styles import Styles
from workbook_templates import contract as C
from workbook_templates import surveys as S

DATE_FORMAT = "DD.MM.YYYY"
#: The columns every book has (template 1.0); a book without one of them cannot take answers.
CORE_KEYS = tuple(c.key for c in C.MONITORING.columns if c.key not in S.EXTRA_KEYS)
_DMY = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")

Value = str | int | float | date | None


@dataclass(frozen=True)
class SurveyRow:
    """One answer as a row of «Мониторинг»: column key -> value (keys of the contract and of
    the questionnaire; a key the book has no column for is left out)."""

    participant_id: str
    role: str
    wave: str
    survey_date: date
    values: dict[str, Value] = field(default_factory=dict)

    def cells(self) -> dict[str, Value]:
        return {"participant_id": self.participant_id, "role": self.role, "wave": self.wave,
                "survey_date": self.survey_date, **self.values}


@dataclass
class Transfer:
    """What the copy got."""

    appended: int = 0
    replaced: int = 0
    #: Keys of the extra answers the book had columns for / had not.
    written_keys: tuple[str, ...] = ()
    missing_keys: tuple[str, ...] = ()


def write_monitoring(src: str | Path, out: str | Path, rows: Sequence[SurveyRow],
                     headers: dict[str, str], year_start: date) -> Transfer:
    """Copy `src` to `out` with `rows` on «Мониторинг»; `headers` maps every key a row may
    carry to its Russian header. A row of the same participant, role, wave and school year (from
    `year_start`, or without a date) is replaced. Raises AnnotatedCopyError (Russian)."""
    result = Transfer()

    def edit(pkg: Package, styles: Styles) -> None:
        _edit_sheet(pkg, styles, rows, headers, year_start, result)

    edit_copy(src, out, edit, what="Книгу с ответами анкет")
    return result


def _edit_sheet(pkg: Package, styles: Styles, rows: Sequence[SurveyRow],
                headers: dict[str, str], year_start: date, result: Transfer) -> None:
    ref = next((s for s in pkg.sheets() if s.name == C.MONITORING.name), None)
    if ref is None:
        raise AnnotatedCopyError(f"В книге нет листа «{C.MONITORING.name}»: ответы некуда "
                                 "перенести. Возьмите книгу стандартного шаблона.")
    root = parse(pkg.read(ref.part))
    data = root.find(q("sheetData"))
    if data is None:  # a sheet part without cells at all
        data = element("<sheetData/>")
        insert_in_order(root, data)
    strings = SharedStrings(pkg, pkg.workbook_target(REL_SHARED_STRINGS))
    sheet_rows = {_row_number(r, i): r for i, r in enumerate(data.findall(q("row")), 1)}
    header = _header(sheet_rows.get(C.HEADER_ROW), strings)
    letters = {key: header[normalize_header(h)] for key, h in headers.items()
               if normalize_header(h) in header}
    missing = [headers[k] for k in CORE_KEYS if k not in letters]
    if missing:
        raise AnnotatedCopyError(
            f"На листе «{C.MONITORING.name}» нет столбцов: " + ", ".join(
                f"«{h}»" for h in missing) + ". Верните их (заголовки как в шаблоне) и "
            "перенесите ответы ещё раз.")
    wanted = {k for r in rows for k in r.values}
    result.written_keys = tuple(k for k in headers if k in wanted and k in letters
                                and k not in CORE_KEYS)
    result.missing_keys = tuple(k for k in headers if k in wanted and k not in letters)
    writer = _Writer(root, styles, _serial_of(pkg), strings, letters)
    existing = writer.index(sheet_rows, year_start)
    last = max((n for n, r in sheet_rows.items() if _has_value(r)), default=C.HEADER_ROW)
    for row in rows:
        number = existing.get(_key(row.participant_id, row.role, row.wave))
        if number is not None:
            result.replaced += 1
        else:
            last += 1
            number = last
            result.appended += 1
        el = sheet_rows.get(number)
        if el is None:
            el = sheet_rows[number] = _new_row(data, number)
        writer.fill(el, number, row.cells())
    writer.finish(max(sheet_rows, default=1))
    pkg.write(ref.part, serialize(root))


class _Writer:
    """Cells of one sheet's rows, written by column key."""

    def __init__(self, root: etree._Element, styles: Styles, serial: _Serial,
                 strings: SharedStrings, letters: dict[str, str]) -> None:
        self.root, self.serial, self.strings, self.letters = root, serial, strings, letters
        self.date_xf = styles.xf(num_fmt=styles.num_fmt(DATE_FORMAT))
        self.col_styles = _col_styles(root)

    def index(self, rows: dict[int, etree._Element], year_start: date) -> dict[tuple, int]:
        """(participant, role, wave) -> row number of this school year's rows (or undated
        ones)."""
        until = date(year_start.year + 1, year_start.month, year_start.day)
        found: dict[tuple, int] = {}
        for number, row in sorted(rows.items()):
            if number <= C.HEADER_ROW:
                continue
            cells = _cells(row)
            text = {k: _text(cells.get(self.letters[k]), self.strings)
                    for k in ("participant_id", "role", "wave")}
            if not text["participant_id"]:
                continue
            day = _day(cells.get(self.letters["survey_date"]), self.strings, self.serial)
            if day is None or year_start <= day < until:
                found.setdefault(_key(text["participant_id"], text["role"], text["wave"]),
                                 number)
        return found

    def fill(self, row: etree._Element, number: int, values: dict[str, Value]) -> None:
        row.attrib.pop("spans", None)  # a hint that may no longer cover the cells
        cells = _cells(row)
        for key, value in values.items():
            letter = self.letters.get(key)
            if letter is None:
                continue
            old = cells.get(letter)
            style = old.get("s") if old is not None else self.col_styles.get(
                column_index(letter))
            if isinstance(value, date):
                value, style = self.serial(value), str(self.date_xf)
            new = _cell(f"{letter}{number}", value, style)
            if old is not None:
                if new is None:
                    row.remove(old)
                else:
                    old.addprevious(new)
                    row.remove(old)
            elif new is not None:
                _insert_cell(row, new, column_index(letter))

    def finish(self, last_row: int) -> None:
        """The dimension and the auto filter cover the new rows."""
        last_col = max([column_index(v) for v in self.letters.values()]
                       + [_max_column(self.root)])
        dim = self.root.find(q("dimension"))
        if dim is not None:
            dim.set("ref", f"A1:{column_letter(last_col)}{last_row}")
        auto = self.root.find(q("autoFilter"))
        m = re.fullmatch(r"\$?([A-Z]+)\$?(\d+):\$?([A-Z]+)\$?(\d+)", auto.get("ref", "")) \
            if auto is not None else None
        if m and int(m.group(4)) < last_row:
            auto.set("ref", f"{m.group(1)}{m.group(2)}:{m.group(3)}{last_row}")


def _key(participant_id: str, role: str, wave: str) -> tuple[str, str, str]:
    return normalize_header(participant_id), normalize_header(role), normalize_header(wave)


def _row_number(row: etree._Element, position: int) -> int:
    r = row.get("r")
    return int(r) if r and r.isdigit() else position


def _cells(row: etree._Element) -> dict[str, etree._Element]:
    out: dict[str, etree._Element] = {}
    for i, c in enumerate(row.findall(q("c")), 1):
        ref = c.get("r")
        out[ref.rstrip("0123456789") if ref else column_letter(i)] = c
    return out


def _has_value(row: etree._Element) -> bool:
    return any(c.find(q("v")) is not None or c.find(q("is")) is not None
               or c.find(q("f")) is not None for c in row.findall(q("c")))


def _header(row: etree._Element | None, strings: SharedStrings) -> dict[str, str]:
    """Normalised header text -> column letter (the first of equal headers)."""
    found: dict[str, str] = {}
    if row is not None:
        for letter, c in _cells(row).items():
            found.setdefault(normalize_header(_text(c, strings)), letter)
    return found


def _text(c: etree._Element | None, strings: SharedStrings) -> str:
    if c is None:
        return ""
    if c.get("t") == "inlineStr":
        return "".join(t.text or "" for t in c.iter(q("t"))).strip()
    v = c.find(q("v"))
    if v is None or v.text is None:
        return ""
    if c.get("t") == "s":
        return strings.get(int(v.text)).strip()
    return v.text.strip()


def _day(c: etree._Element | None, strings: SharedStrings, serial: _Serial) -> date | None:
    """The date of a cell: a date serial, or text ДД.ММ.ГГГГ; None when empty or unreadable."""
    text = _text(c, strings)
    if not text:
        return None
    m = _DMY.match(text)
    try:
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if c.get("t") in (None, "n"):
            return serial.day(float(text))
    except (ValueError, OverflowError):
        return None
    return None


def _cell(ref: str, value: Value, style: str | None) -> etree._Element | None:
    """A <c> of a value: text inline (never a formula), numbers as numbers; a blank keeps
    its style, and without one there is no cell."""
    c = etree.Element(q("c"))
    c.set("r", ref)
    if style and style != "0":
        c.set("s", style)
    if value is None or value == "":
        return c if c.get("s") else None
    if isinstance(value, str):
        c.set("t", "inlineStr")
        t = etree.SubElement(etree.SubElement(c, q("is")), q("t"))
        t.text = clean_text(value)
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    else:
        etree.SubElement(c, q("v")).text = repr(float(value)) if isinstance(value, float) \
            and not float(value).is_integer() else str(int(value))
    return c


def _insert_cell(row: etree._Element, cell: etree._Element, index: int) -> None:
    for other in row.findall(q("c")):
        ref = other.get("r")
        if ref and column_index(ref) > index:
            other.addprevious(cell)
            return
    row.append(cell)


def _new_row(data: etree._Element, number: int) -> etree._Element:
    row = etree.Element(q("row"))
    row.set("r", str(number))
    for other in data.findall(q("row")):
        r = other.get("r")
        if r and r.isdigit() and int(r) > number:
            other.addprevious(row)
            return row
    data.append(row)
    return row


def _col_styles(root: etree._Element) -> dict[int, str]:
    """Column index -> the style of its <col> (the format a typed cell would get)."""
    out: dict[int, str] = {}
    cols = root.find(q("cols"))
    for col in cols if cols is not None else ():
        style = col.get("style")
        if style and style != "0":
            for j in range(int(col.get("min", "1")), min(int(col.get("max", "1")), 16384) + 1):
                out[j] = style
    return out


def _max_column(root: etree._Element) -> int:
    dim = root.find(q("dimension"))
    ref = dim.get("ref", "A1") if dim is not None else "A1"
    return column_index(ref.split(":")[-1])


class _Serial:
    """Dates to and from the workbook's serials (1900 or 1904 system)."""

    def __init__(self, date1904: bool) -> None:
        self.epoch = date(1904, 1, 1) if date1904 else date(1899, 12, 30)

    def __call__(self, day: date) -> int:
        day = day.date() if isinstance(day, datetime) else day
        return (day - self.epoch).days

    def day(self, serial: float) -> date:
        return date.fromordinal(self.epoch.toordinal() + int(serial))


def _serial_of(pkg: Package) -> _Serial:
    return _Serial(pkg.date1904())

